// Fieldsets that apply to some choices only: <fieldset data-show-when="ranking_mode=pairwise">
// (or "=rank,rate", or "prompt_writing=on" for a checkbox) hides while its form's control
// of that name holds another value, and shows again when the choice changes. Without this
// script every fieldset stays shown and the server validates them all as before. A hidden
// fieldset's inputs are still sent, so values typed there are kept.
(function () {
  "use strict";

  function currentValue(form, name) {
    const controls = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    for (const control of controls) {
      if (control.type === "checkbox") return control.checked ? "on" : "";
      if (control.type === "radio") { if (control.checked) return control.value; continue; }
      return control.value;
    }
    return "";
  }

  function parse(rule) {
    const at = rule.indexOf("=");
    return { name: rule.slice(0, at).trim(), values: rule.slice(at + 1).split(",").map((v) => v.trim()) };
  }

  function update(form) {
    for (const fieldset of form.querySelectorAll("[data-show-when]")) {
      const { name, values } = parse(fieldset.dataset.showWhen);
      fieldset.hidden = !values.includes(currentValue(form, name));
    }
  }

  for (const form of document.querySelectorAll("form")) {
    if (!form.querySelector("[data-show-when]")) continue;
    form.addEventListener("change", () => update(form));
    update(form);
  }
})();
