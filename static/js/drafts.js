/* Drafts of typed text kept in the browser's localStorage, so nothing typed is lost to
 * a redirect (guidelines to acknowledge), a reload, a closed tab or a failed save.
 * Pages store under their own keys and clear a draft once the server has stored the
 * work. Storage can be full or switched off (private windows): then drafts are simply
 * not kept, and the page works as before.
 */
(function () {
  "use strict";

  const PREFIX = "preflab:draft:";
  // Drafts of items whose leases ended long ago would otherwise stay for ever.
  const MAX_AGE_MS = 14 * 24 * 3600 * 1000;

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // disabled by the browser's settings
    }
  }

  function sweep() {
    const store = storage();
    if (!store) return;
    const doomed = [];
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      if (!key || !key.startsWith(PREFIX)) continue;
      try {
        const draft = JSON.parse(store.getItem(key));
        if (!draft || !(Date.now() - draft.saved_at < MAX_AGE_MS)) doomed.push(key);
      } catch (error) {
        doomed.push(key);
      }
    }
    for (const key of doomed) store.removeItem(key);
  }

  window.PrefLabDrafts = {
    /** The stored draft under key, or null. */
    load(key) {
      const store = storage();
      if (!store) return null;
      try {
        const raw = store.getItem(PREFIX + key);
        return raw === null ? null : JSON.parse(raw);
      } catch (error) {
        return null; // a draft written by an older page: start afresh
      }
    },
    save(key, value) {
      const store = storage();
      if (!store) return;
      try {
        store.setItem(PREFIX + key, JSON.stringify({ ...value, saved_at: Date.now() }));
      } catch (error) {
        // quota exceeded: the typed text stays on the page, only the draft is missing
      }
    },
    clear(key) {
      const store = storage();
      if (store) store.removeItem(PREFIX + key);
    },
    /** Clear every draft whose key starts with prefix (all drafts of one item). */
    clearPrefix(prefix) {
      const store = storage();
      if (!store) return;
      const doomed = [];
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i);
        if (key && key.startsWith(PREFIX + prefix)) doomed.push(key);
      }
      for (const key of doomed) store.removeItem(key);
    },
  };
  sweep();
})();
