// Rolegate's small browser script. Loaded from /static (CSP: script-src 'self'); htmx does
// the requests, this only adds what plain HTML cannot: dialogs, the permission matrix's group
// boxes and live count, the code preview, and toasts. Every page works without it.
(function () {
  "use strict";

  // ---- user menu: close on Escape or a click elsewhere ----
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
  });
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });

  // ---- dialogs: htmx swaps a <dialog data-modal> into #modal; show it modally ----
  var opener = null;
  function within(root, sel) {
    var out = Array.prototype.slice.call(root.querySelectorAll(sel));
    if (root.matches && root.matches(sel)) out.unshift(root);
    return out;
  }
  function openModals(root) {
    within(root, "dialog[data-modal]").forEach(function (d) {
      if (!d.open) {
        d.showModal(); // traps focus; Escape closes
        var first = d.querySelector("[autofocus]") || d.querySelector("input:not([type=hidden]), select, textarea, button");
        if (first) first.focus();
      }
    });
  }
  // discard: close even with unsaved changes (after saving, or when the person said so).
  function closeModal(d, discard) {
    if (!d || !d.open) return;
    if (discard) d.discarded = true;
    d.close();
  }
  // A dialog holds unsaved work when a field differs from what the server sent, when it came
  // back with a problem (what was typed is not saved yet), or when it carries ticks from
  // other pages ([data-pending]). A search box is not work.
  function isDirty(d) {
    if (d.querySelector("[data-pending], .problem, [data-testid=stale]")) return true;
    return Array.prototype.some.call(d.querySelectorAll("input, select, textarea"), function (el) {
      if (el.disabled || el.type === "hidden" || el.type === "search" || el.readOnly) return false;
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
  }
  // Closing a dialog with unsaved work asks first; "Keep editing" is the default.
  function askDiscard(d) {
    confirmDialog("Discard what you entered in this dialog? It has not been saved.", "Discard", "Keep editing", function () {
      closeModal(d, true);
    });
  }
  document.addEventListener("cancel", function (e) { // Escape
    var d = e.target;
    if (!d.matches || !d.matches("dialog[data-modal]") || d.discarded || !isDirty(d)) return;
    e.preventDefault();
    askDiscard(d);
  }, true);
  document.addEventListener("close", function (e) {
    var d = e.target;
    if (!d.matches || !d.matches("dialog[data-modal]")) return;
    if (!d.discarded && document.contains(d) && isDirty(d)) {
      // The browser closed it anyway (an Escape it would not let us cancel): open it again.
      d.showModal();
      askDiscard(d);
      return;
    }
    // Remove only this dialog: a newer one may already have been swapped in beside it.
    d.remove();
    if (opener && document.contains(opener)) opener.focus();
  }, true);

  // ---- confirmations: a small alert dialog instead of window.confirm ----
  var confirmSeq = 0;
  function confirmDialog(message, yes, no, onYes) {
    var n = ++confirmSeq;
    var c = document.createElement("dialog");
    c.className = "modal modal--confirm";
    c.setAttribute("role", "alertdialog");
    c.setAttribute("aria-labelledby", "confirm-msg-" + n);
    c.setAttribute("data-testid", "confirm-dialog");
    var p = document.createElement("p");
    p.id = "confirm-msg-" + n;
    p.textContent = message;
    var f = document.createElement("form");
    f.method = "dialog";
    f.className = "modal-actions";
    var y = document.createElement("button");
    y.className = "button button--danger";
    y.value = "yes";
    y.textContent = yes;
    y.setAttribute("data-testid", "confirm-yes");
    var k = document.createElement("button");
    k.className = "button";
    k.value = "no";
    k.textContent = no;
    k.setAttribute("data-testid", "confirm-no");
    f.append(y, k);
    c.append(p, f);
    document.body.appendChild(c);
    c.addEventListener("close", function () {
      c.remove();
      if (c.returnValue === "yes") onYes();
    });
    c.showModal();
    k.focus();
  }
  // <form data-confirm="Revoke …?" data-confirm-yes="Revoke">: asked before it is sent.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (!msg || form.confirmed) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var submitter = e.submitter;
    confirmDialog(msg, form.getAttribute("data-confirm-yes") || "Yes", "Cancel", function () {
      form.confirmed = true;
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      form.confirmed = false;
    });
  }, true);

  // ---- role pickers: the chosen role's warning, when it grants administration ----
  function showRoleWarning(sel) {
    var out = document.getElementById(sel.getAttribute("data-role-picker"));
    if (!out) return;
    var opt = sel.options[sel.selectedIndex];
    var warn = (opt && opt.getAttribute("data-warn")) || "";
    out.replaceChildren();
    if (warn) {
      var strong = document.createElement("strong");
      strong.textContent = "Warning:";
      out.append(strong, " " + warn);
    }
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-role-picker]")) showRoleWarning(e.target);
  });

  // ---- Select members: "N selected", kept current while ticking ----
  function refreshSelected(list) {
    var out = list.querySelector("[data-selected]");
    if (!out) return;
    var add = list.querySelectorAll("input[data-carried][name=members]").length;
    var remove = list.querySelectorAll("input[data-carried][name=shown]").length - add;
    list.querySelectorAll("input[type=checkbox][name=members]").forEach(function (b) {
      var holds = b.getAttribute("data-holds") === "true";
      if (b.checked && !holds) add++;
      else if (!b.checked && holds) remove++;
    });
    var n = Number(out.getAttribute("data-holders")) + add - remove;
    out.textContent = n + " selected" + (add || remove ? " (" + add + " to add, " + remove + " to remove when you save)" : "");
  }
  document.addEventListener("change", function (e) {
    var list = e.target.closest && e.target.closest("[data-members]");
    if (list && e.target.name === "members") refreshSelected(list);
  });

  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-close]");
    if (btn && btn.closest("dialog[data-modal]")) {
      e.preventDefault();
      var d = btn.closest("dialog");
      // The × asks when there is unsaved work; Cancel and Done say what they do.
      if (btn.classList.contains("modal-close") && isDirty(d)) askDiscard(d);
      else closeModal(d, true);
    }
    var trigger = e.target.closest("[hx-target='#modal']");
    if (trigger) opener = trigger;
  });

  // ---- the permission matrix ----
  function boxes(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll("input[type=checkbox][name=permissions]"));
  }
  function refreshMatrix(matrix) {
    var all = boxes(matrix);
    var ticked = all.filter(function (b) { return b.checked; });
    var count = matrix.querySelector("[data-count]");
    if (count) count.textContent = ticked.length + " of " + all.length + " selected";
    matrix.querySelectorAll("[data-group]").forEach(function (g) {
      var own = boxes(g);
      var on = own.filter(function (b) { return b.checked; }).length;
      var toggle = g.querySelector("[data-group-toggle]");
      if (!toggle) return;
      toggle.checked = on === own.length;
      toggle.indeterminate = on > 0 && on < own.length;
      toggle.setAttribute("aria-checked", toggle.indeterminate ? "mixed" : String(toggle.checked));
      toggle.disabled = own.every(function (b) { return b.disabled; });
    });
    // Hints: show what a ticked permission suggests, while it is not ticked too.
    var byKey = {};
    all.forEach(function (b) { byKey[b.value] = b; });
    matrix.querySelectorAll("[data-suggest-for]").forEach(function (hint) {
      var b = byKey[hint.getAttribute("data-suggest-for")];
      var wanted = (b && b.getAttribute("data-suggests") || "").split(" ").filter(Boolean);
      var missing = wanted.some(function (k) { return byKey[k] && !byKey[k].checked; });
      hint.hidden = !(b && b.checked && missing);
    });
  }
  function setAll(scope, on) {
    boxes(scope).forEach(function (b) {
      if (!b.disabled) b.checked = on;
    });
  }
  function initMatrices(root) {
    within(root, "[data-matrix]").forEach(function (m) {
      m.querySelectorAll("[data-group-toggle], [data-group-tools], [data-select-all], [data-clear-all]").forEach(function (el) {
        el.hidden = false;
      });
      refreshMatrix(m);
    });
  }
  document.addEventListener("change", function (e) {
    var m = e.target.closest && e.target.closest("[data-matrix]");
    if (!m) return;
    if (e.target.matches("[data-group-toggle]")) setAll(e.target.closest("[data-group]"), e.target.checked);
    refreshMatrix(m);
  });
  document.addEventListener("click", function (e) {
    var m = e.target.closest && e.target.closest("[data-matrix]");
    if (!m) return;
    var b = e.target.closest("button");
    if (!b) return;
    if (b.matches("[data-enable]")) setAll(b.closest("[data-group]"), true);
    else if (b.matches("[data-disable]")) setAll(b.closest("[data-group]"), false);
    else if (b.matches("[data-select-all]")) setAll(m, true);
    else if (b.matches("[data-clear-all]")) setAll(m, false);
    else return;
    refreshMatrix(m);
  });

  // ---- the code preview: asked of the server (roles.PreviewCode), the rule the save applies,
  // so names in any script get the code they will really get ----
  var previewTimer, previewAbort;
  function previewCode(input) {
    var form = input.form;
    var out = form.querySelector("[data-code-preview]");
    if (!out) return;
    var note = form.querySelector("[data-code-note]");
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      if (previewAbort) previewAbort.abort();
      previewAbort = window.AbortController ? new AbortController() : null;
      fetch("/roles/code?name=" + encodeURIComponent(input.value), {
        headers: { "Accept": "application/json" }, credentials: "same-origin",
        signal: previewAbort ? previewAbort.signal : undefined
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (p) {
        if (!p) return;
        out.textContent = p.code;
        if (note) {
          note.textContent = p.note;
          note.classList.toggle("hint--problem", !!p.problem);
        }
      }).catch(function () {});
    }, 120);
  }
  document.addEventListener("input", function (e) {
    if (!e.target.matches || !e.target.matches("#role-form input[name=name]")) return;
    previewCode(e.target);
  });

  // ---- character counters on fields that stop at a length: "12 / 64" ----
  function refreshCounter(field) {
    var out = document.getElementById(field.id + "-count");
    if (out) out.textContent = field.value.length + " / " + field.getAttribute("maxlength");
  }
  function initCounters(root) {
    within(root, "#role-form input[maxlength], #role-form textarea[maxlength]").forEach(function (f) {
      if (!f.id || document.getElementById(f.id + "-count")) return;
      var out = document.createElement("span");
      out.id = f.id + "-count";
      out.className = "counter";
      out.setAttribute("data-testid", "counter-" + f.name);
      f.insertAdjacentElement("afterend", out);
      var described = f.getAttribute("aria-describedby");
      f.setAttribute("aria-describedby", (described ? described + " " : "") + out.id);
      refreshCounter(f);
    });
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("#role-form [maxlength]")) refreshCounter(e.target);
  });

  // ---- a page answering a form post shows the form's address, so a reload does not post
  // again (the server names it: data-replace-url) ----
  var replaceURL = document.body && document.body.getAttribute("data-replace-url");
  if (replaceURL && window.history && history.replaceState) history.replaceState(null, "", replaceURL);

  // ---- the phone Menu button: shows and hides the main navigation ----
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest(".nav-toggle");
    if (!btn) return;
    var nav = document.getElementById(btn.getAttribute("aria-controls"));
    var open = btn.getAttribute("aria-expanded") !== "true";
    btn.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("is-open", open);
  });

  // ---- toasts from HX-Trigger: {"toast": "Role saved."} ----
  document.body && document.body.addEventListener("toast", function (e) {
    document.querySelectorAll("dialog[data-modal]").forEach(function (d) { closeModal(d, true); });
    var region = document.getElementById("flash");
    if (!region) return;
    var p = document.createElement("p");
    p.className = "flash";
    p.setAttribute("data-testid", "flash");
    p.textContent = e.detail && e.detail.value !== undefined ? e.detail.value : String(e.detail);
    region.replaceChildren(p);
  });

  // ---- copy buttons: <button data-copy="input-id"> copies that field's value ----
  function copied(btn, ok) {
    var status = btn.closest(".field") && btn.closest(".field").querySelector("[data-copy-status]");
    btn.textContent = ok ? "Copied" : "Copy link";
    if (status) status.textContent = ok ? "Copied to the clipboard." : "Press Ctrl+C (or ⌘C) to copy the selected link.";
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) return;
    var field = document.getElementById(btn.getAttribute("data-copy"));
    if (!field) return;
    field.focus();
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { copied(btn, true); }, function () { copied(btn, false); });
    } else {
      copied(btn, false);
    }
  });
  function initCopy(root) {
    within(root, "[data-copy]").forEach(function (b) { b.hidden = false; });
  }

  // ---- a table that scrolls sideways in its box can be scrolled from the keyboard ----
  function initScrollBoxes(root) {
    within(root, ".table-wrap").forEach(function (w) {
      if (w.scrollWidth <= w.clientWidth + 1 || w.hasAttribute("tabindex")) return;
      w.setAttribute("tabindex", "0");
      w.setAttribute("role", "region");
      var cap = w.querySelector("caption");
      var heading = w.closest("section") && w.closest("section").querySelector("h2, h1");
      w.setAttribute("aria-label", ((cap || heading || {}).textContent || "Table").trim() + " (scrolls sideways)");
    });
  }

  // ---- passkeys (WebAuthn): fetch the options, ask the authenticator, post the answer ----
  // The server gives the options as JSON with binary members in base64url; the browser wants
  // them as bytes, and its answer goes back the other way (the form field "credential").
  function b64urlToBytes(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function bytesToB64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeOptions(pk) {
    pk.challenge = b64urlToBytes(pk.challenge);
    if (pk.user) pk.user.id = b64urlToBytes(pk.user.id);
    ["excludeCredentials", "allowCredentials"].forEach(function (k) {
      (pk[k] || []).forEach(function (c) { c.id = b64urlToBytes(c.id); });
    });
    return pk;
  }
  function encodeCredential(c) {
    var r = c.response, out = { id: c.id, rawId: bytesToB64url(c.rawId), type: c.type, response: {},
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"].forEach(function (k) {
      if (r[k]) out.response[k] = bytesToB64url(r[k]);
    });
    if (r.getTransports) out.response.transports = r.getTransports();
    return JSON.stringify(out);
  }
  function passkeyProblem(form, msg) {
    var p = form.querySelector("[data-passkey-problem]");
    if (!p) return;
    p.textContent = msg;
    p.hidden = !msg;
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-passkey")) return;
    if (form.elements.credential.value) return; // the answer, on its way
    e.preventDefault();
    var button = form.querySelector("[data-passkey-button]");
    button.disabled = true;
    passkeyProblem(form, "");
    var csrf = form.elements._csrf ? form.elements._csrf.value : "";
    fetch(form.getAttribute("data-passkey"), {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)),
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          if (body.location) { window.location.assign(body.location); }
          throw new Error(body.problem || "Something went wrong. Try again.");
        }
        var pk = decodeOptions(body.publicKey);
        return pk.user ? navigator.credentials.create({ publicKey: pk }) : navigator.credentials.get({ publicKey: pk });
      });
    }).then(function (cred) {
      form.elements.credential.value = encodeCredential(cred);
      form.submit();
    }).catch(function (err) {
      button.disabled = false;
      if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
        passkeyProblem(form, "No passkey was used (it was cancelled, or timed out). Try again when you are ready.");
      } else if (err && err.name === "InvalidStateError") {
        passkeyProblem(form, "That passkey is registered already.");
      } else {
        passkeyProblem(form, (err && err.message) || "The passkey did not work. Try again.");
      }
    });
  });
  function initPasskeys(root) {
    var ok = !!(window.PublicKeyCredential && navigator.credentials);
    within(root, "form[data-passkey]").forEach(function (f) {
      f.querySelector("[data-passkey-button]").hidden = !ok;
      f.querySelector("[data-passkey-unsupported]").hidden = ok;
    });
  }

  // A report's Print button (no inline script: CSP). Hidden without JavaScript, where the
  // browser's own Print does the same.
  function initPrint(root) {
    within(root, "[data-print]").forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) { window.print(); }
  });
  // An access review's "Tick all shown": ticks every box of its form, or unticks them when
  // all are ticked. Hidden without JavaScript, where it could do nothing.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-check-all]");
    if (!b || !b.form) { return; }
    var boxes = Array.prototype.slice.call(b.form.querySelectorAll("input[type=checkbox][name=items]"));
    var all = boxes.length > 0 && boxes.every(function (c) { return c.checked; });
    boxes.forEach(function (c) { c.checked = !all; });
  });
  function initCheckAll(root) {
    within(root, "[data-check-all]").forEach(function (b) { b.hidden = false; });
  }

  function init(root) {
    initCheckAll(root);
    initPrint(root);
    initPasskeys(root);
    initMatrices(root);
    initScrollBoxes(root);
    initCopy(root);
    initCounters(root);
    openModals(root);
  }
  // ---- impact preview: as soon as its form changes, the preview shown is out of date until
  // htmx brings the next one (a save sent meanwhile is held back by the server and shows it).
  document.addEventListener("change", function (e) {
    var form = e.target.closest && e.target.closest("form");
    var panel = form && form.querySelector("[data-impact][hx-post]");
    if (panel) panel.setAttribute("aria-busy", "true");
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
