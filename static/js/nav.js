// A project's section nav scrolls sideways on a phone: open it with the current page's
// link in view (centred in the nav), or a manager on "Quality" would see "Overview,
// Guidelines, Annotate" and no sign of where they are. Only the nav's own row scrolls:
// the page is never moved (scrollIntoView could scroll it vertically too).
(function () {
  "use strict";
  function centreCurrent() {
    document.querySelectorAll(".crumbs .sections").forEach(function (list) {
      var current = list.querySelector("a[aria-current=page]");
      if (!current || list.scrollWidth <= list.clientWidth) return;
      var box = list.getBoundingClientRect();
      var link = current.getBoundingClientRect();
      list.scrollLeft += link.left + link.width / 2 - (box.left + box.width / 2);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", centreCurrent);
  } else {
    centreCurrent();
  }
})();
