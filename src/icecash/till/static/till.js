/* IceCash till: keys, focus, dialogs and the request queue of the cashier's screen.
 *
 * Every receipt action goes through one queue, in order, so a fast scanner never loses or
 * reorders a scan. Each action carries its own Idempotency-Key; a request that fails on the
 * network is repeated with the same key until the till answers, so a retry never adds a line or
 * a payment twice. Every answer is the screen's state rebuilt by the server.
 */
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const T = JSON.parse(($("#i18n") || {}).textContent || "{}");
  const CSRF = ($('meta[name="csrf-token"]') || {}).content || "";
  const CASHIER = 50;

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_, name) => values[name]);

  let toastTimer = 0;
  function toast(text, bad) {
    const el = $("#toast");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("show"), 3500);
  }

  /* Money as integer kopecks, parsed from what a person types ("1 234,5"); null if not an amount. */
  function parseMoney(text) {
    const raw = String(text).replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
    const m = /^(\d{1,10})(?:\.(\d{0,2}))?$/.exec(raw);
    if (!m) return null;
    return parseInt(m[1], 10) * 100 + parseInt((m[2] || "").padEnd(2, "0"), 10);
  }
  function showMoney(kop) {
    const lang = document.documentElement.lang;
    const sign = kop < 0 ? "-" : "";
    const abs = Math.abs(kop);
    const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, lang === "en" ? "," : "\u202f");
    return sign + whole + (lang === "en" ? "." : ",") + String(abs % 100).padStart(2, "0");
  }

  /* POST a form to the till; repeats on network failure with the same key. Answers the body text, or null. */
  let online = true;
  async function post(url, params, idempotent) {
    const headers = { "X-CSRF-Token": CSRF, "Content-Type": "application/x-www-form-urlencoded" };
    if (idempotent) headers["Idempotency-Key"] = newKey();
    const body = new URLSearchParams(params || {}).toString();
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(url, { method: "POST", headers, body, credentials: "same-origin" });
      } catch (err) {
        online = false;
        setOffline(true);
        await sleep(Math.min(3000, 250 * 2 ** attempt));
        continue;
      }
      if (!online) { online = true; setOffline(false); }
      if (response.status === 401) { location.href = "/login"; return null; }
      const text = await response.text();
      if (!response.ok) {
        toast(errorText(text), true);
        return null;
      }
      return text;
    }
  }
  async function get(url) {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.status === 401) { location.href = "/login"; return null; }
        if (!online) { online = true; setOffline(false); }
        return await response.text();
      } catch (err) {
        online = false;
        setOffline(true);
        await sleep(Math.min(3000, 250 * 2 ** attempt));
      }
    }
  }
  function errorText(text) {
    try {
      const error = JSON.parse(text).error;
      return document.documentElement.lang === "en" ? error.message_en : error.message;
    } catch (e) {
      return text.slice(0, 200);
    }
  }
  function setOffline(off) {
    document.body.classList.toggle("offline", off);
    toast(off ? T.offline : T.online, off);
  }

  /* Preferences and logout, on every page. */
  document.addEventListener("click", async (event) => {
    const pref = event.target.closest("[data-pref]");
    if (pref) {
      await post("/ui/prefs", { [pref.dataset.pref]: pref.dataset.value });
      location.reload();
      return;
    }
    if (event.target.closest("#logout")) {
      await post("/logout", {});
      location.href = "/login";
    }
  });

  function tick() {
    const clock = $("#clock");
    if (clock) {
      const now = new Date();
      clock.textContent = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
    }
  }
  tick();
  setInterval(tick, 5000);

  document.addEventListener("htmx:responseError", (event) => {
    if (event.detail.xhr.status === 401) location.href = "/login";
    else toast(errorText(event.detail.xhr.responseText), true);
  });
  document.addEventListener("htmx:sendError", () => toast(T.offline, true));

  /* Login: a card or code (digits) logs in at once; a login moves on to the password. */
  const loginField = $("#login");
  if (loginField) {
    loginField.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const password = $("#password");
      if (!password.value && !/^\d+$/.test(loginField.value.trim())) {
        event.preventDefault();
        password.focus();
      }
    });
  }

  const sale = $("#sale");
  if (!sale) return;

  /* ---------------------------------------------------------------- the sale screen */
  const scan = $("#scan");
  const role = parseInt(sale.dataset.role, 10);
  let queue = Promise.resolve();
  let pending = 0;

  function enqueue(job) {
    pending++;
    document.body.classList.add("busy");
    const run = queue.then(job).finally(() => {
      pending--;
      if (!pending) document.body.classList.remove("busy");
    });
    queue = run.catch(() => {});
    return run;
  }

  function applyState(html) {
    if (html == null) return refresh();
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    for (const id of ["receipt", "totals", "message"]) {
      const fresh = tpl.content.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }
    const selected = $("#lines tr.selected");
    if (selected) selected.scrollIntoView({ block: "nearest" });
    else {
      const scroller = $("#lines-scroll");
      if (scroller) scroller.scrollTop = scroller.scrollHeight;
    }
    const dialogContent = tpl.content.getElementById("dialog-content");
    if (dialogContent && $("#message").dataset.dialog === "prices") openPanel(T.prices, dialogContent.innerHTML);
    document.dispatchEvent(new CustomEvent("icecash:rendered"));
    return null;
  }
  async function refresh() {
    const html = await get("/ui/sale/state");
    if (html != null) applyState(html);
  }
  const state = () => $("#receipt").dataset;
  const stateError = () => $("#message").dataset.error;

  /* One receipt action: queued, posted, and the answer drawn. */
  function act(url, params, idempotent = true) {
    return enqueue(async () => applyState(await post(url, params, idempotent)));
  }

  function doScan() {
    const text = scan.value.trim();
    scan.value = "";
    if (text) act("/ui/sale/scan", { barcode: text });
  }

  function selectedLine() {
    const row = $("#lines tr.selected");
    return row && !row.classList.contains("storno") ? row : null;
  }
  function moveSelection(step) {
    const rows = $$("#lines tr.line");
    if (!rows.length) return;
    let index = rows.findIndex((row) => row.classList.contains("selected"));
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, index + step));
    selectRow(rows[index]);
  }
  function selectRow(row) {
    $$("#lines tr.selected").forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
    row.scrollIntoView({ block: "nearest" });
    act("/ui/sale/select", { line_no: row.dataset.line }, false);
  }

  /* ---------------------------------------------------------------- dialogs */
  const anyDialogOpen = () => $$("dialog[open]").length > 0;
  function closeDialogs() {
    $$("dialog[open]").forEach((d) => d.close());
  }
  $$("dialog").forEach((dialog) => dialog.addEventListener("close", () => {
    if (!anyDialogOpen()) setTimeout(() => scan.focus(), 0);
  }));
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-close]")) event.target.closest("dialog").close();
  });

  function openNumber(what) {
    const row = selectedLine();
    if (!row) { toast(T.no_line, true); return; }
    const dialog = $("#dlg-number");
    $("#dlg-number-title").textContent = T[what];
    $("#dlg-number-line").textContent = fmt(T.line, { n: row.dataset.line, name: $(".item-name", row).textContent });
    const cells = row.querySelectorAll("td.num");
    const input = $("#number-input");
    input.value = what === "quantity" ? cells[1].textContent.trim() : what === "price" ? cells[0].textContent.trim().replace(/\s/g, "") : "";
    $("#number-error").textContent = "";
    dialog.dataset.what = what;
    dialog.dataset.line = row.dataset.line;
    dialog.showModal();
    input.focus();
    input.select();
  }
  $("#number-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const dialog = $("#dlg-number");
    const value = $("#number-input").value;
    act("/ui/sale/change", { line_no: dialog.dataset.line, what: dialog.dataset.what, value }).then(() => {
      const error = stateError();
      if (error) { $("#number-error").textContent = error; $("#number-input").select(); }
      else dialog.close();
    });
  });

  function openCard() {
    $("#card-input").value = "";
    $("#card-error").textContent = "";
    $("#dlg-card").showModal();
    $("#card-input").focus();
  }
  $("#card-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("/ui/sale/card", { number: $("#card-input").value.trim() }).then(() => {
      const error = stateError();
      if (error) { $("#card-error").textContent = error; $("#card-input").select(); }
      else $("#dlg-card").close();
    });
  });

  let confirmYes = null;
  function confirmDo(title, text, yes) {
    $("#dlg-confirm-title").textContent = title;
    $("#dlg-confirm-text").textContent = text;
    confirmYes = yes;
    $("#dlg-confirm").showModal();
    $("#confirm-yes").focus();
  }
  $("#confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#dlg-confirm").close();
    const yes = confirmYes;
    confirmYes = null;
    if (yes) yes();
  });

  /* A panel: catalogue, deferred receipts, returns, reports, a receipt copy, the price picker. */
  function openPanel(title, html) {
    const dialog = $("#dlg-panel");
    $("#dlg-panel-title").textContent = title;
    const body = $("#panel-body");
    body.innerHTML = html;
    if (window.htmx) htmx.process(body);
    if (!dialog.open) dialog.showModal();
    focusFirst(body);
  }
  function focusFirst(root) {
    const target = $("[data-autofocus]", root) || $("input:not([type=hidden]), [data-nav]", root);
    if (target) { target.focus(); if (target.select) target.select(); }
  }
  async function loadPanel(title, url) {
    const html = await get(url);
    if (html != null) openPanel(title, html);
  }
  document.addEventListener("htmx:afterSettle", () => {
    // A swap in the open panel may take the focused element away: put the focus back in the panel.
    if (!$("#dlg-panel").open) return;
    const body = $("#panel-body");
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected || !body.contains(active)) focusFirst(body);
  });
  $("#panel-body").addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-code]");
    if (add) {
      act("/ui/sale/add", { code: add.dataset.addCode, price_option: add.dataset.option || "", quantity: add.dataset.quantity || "" }).then(() => {
        if ($("#message").dataset.dialog !== "prices" && !stateError()) {
          $("#dlg-panel").close();
          if (add.dataset.weighed) openNumber("quantity"); // a weighed item from the list: its weight next
        }
      });
      return;
    }
    const load = event.target.closest("[data-load]");
    if (load) {
      act("/ui/sale/load", { uuid: load.dataset.load }, false).then(() => { if (!stateError()) $("#dlg-panel").close(); });
      return;
    }
    const fill = event.target.closest("[data-fill]");
    if (fill) {
      const input = fill.parentElement.querySelector("input");
      input.value = fill.dataset.fill;
      input.focus();
    }
  });
  document.addEventListener("keydown", (event) => {
    // Arrows walk the panel's list, wherever the focus is while the panel is open.
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (!$("#dlg-panel").open || (event.target.tagName === "SELECT")) return;
    const items = $$("[data-nav]", $("#panel-body"));
    if (!items.length) return;
    const index = items.indexOf(document.activeElement);
    if (index < 0 && event.key === "ArrowUp") return;
    event.preventDefault();
    const next = index < 0 ? 0 : Math.max(0, Math.min(items.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)));
    items[next].focus();
    items[next].scrollIntoView({ block: "nearest" });
  });

  /* The on-screen number pad types into the dialog's last focused field (for touch monitors). */
  let padTarget = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.matches && event.target.matches("dialog input")) padTarget = event.target;
  });
  document.addEventListener("click", (event) => {
    const key = event.target.closest("[data-pad]");
    if (!key) return;
    const dialog = key.closest("dialog");
    const input = padTarget && dialog.contains(padTarget) && !padTarget.hidden ? padTarget : $("input:not([hidden])", dialog);
    if (!input) return;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    if (key.dataset.pad === "⌫") {
      const from = start === end ? Math.max(0, start - 1) : start;
      input.value = input.value.slice(0, from) + input.value.slice(end);
      input.setSelectionRange(from, from);
    } else {
      input.value = input.value.slice(0, start) + key.dataset.pad + input.value.slice(end);
      input.setSelectionRange(start + 1, start + 1);
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  });

  /* ---------------------------------------------------------------- payment */
  const pay = { mode: "cash", due: 0 };
  function openPay(mode) {
    if (role < CASHIER) { toast(T.cashier_only, true); return; }
    if (!parseInt(state().live || "0", 10)) { toast(T.empty, true); return; }
    pay.due = parseMoney($("#totals").dataset.total) || 0;
    $("#pay-due").textContent = showMoney(pay.due);
    $("#pay-cash").value = "";
    $("#pay-card").value = "";
    $("#pay-error").textContent = "";
    const quick = $("#pay-quick");
    quick.innerHTML = "";
    const amounts = [pay.due];
    for (const step of [10000, 50000, 100000, 500000]) {
      const up = Math.ceil(pay.due / step) * step;
      if (up > pay.due && !amounts.includes(up) && amounts.length < 5) amounts.push(up);
    }
    amounts.forEach((kop, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn";
      button.textContent = i === 0 ? T.exact : showMoney(kop).replace(/[,.]00$/, "");
      button.addEventListener("click", () => { $("#pay-cash").value = showMoney(kop).replace(/[\s\u202f,.]/g, (c) => (c === "," || c === "." ? c : "")); recalc(); $("#pay-cash").focus(); });
      quick.appendChild(button);
    });
    $("#dlg-pay").showModal();
    setMode(mode);
  }
  function setMode(mode) {
    pay.mode = mode;
    $$("#dlg-pay .tab").forEach((tab) => tab.classList.toggle("on", tab.dataset.mode === mode));
    $$("#dlg-pay .pay-cash-field").forEach((el) => { el.hidden = mode === "card"; });
    $$("#dlg-pay .pay-card-field").forEach((el) => { el.hidden = mode !== "mixed"; });
    $("#pay-change-row").hidden = mode === "card";
    $("#pay-error").textContent = "";
    recalc();
    const field = mode === "mixed" ? $("#pay-card") : mode === "cash" ? $("#pay-cash") : $("#pay-submit");
    field.focus();
    if (field.select) field.select();
  }
  function amounts() {
    const card = pay.mode === "card" ? pay.due : pay.mode === "mixed" ? parseMoney($("#pay-card").value || "0") : 0;
    if (card === null) return { error: T.not_number, field: "card" };
    const cashDue = pay.due - card;
    const typed = $("#pay-cash").value.trim();
    const given = pay.mode === "card" ? 0 : typed ? parseMoney(typed) : Math.max(cashDue, 0);
    if (given === null) return { error: T.not_number, field: "cash" };
    return { card, cashDue, given, change: given - Math.max(cashDue, 0) };
  }
  function recalc() {
    const a = amounts();
    const row = $("#pay-change-row");
    if (a.error) { $("#pay-change").textContent = "—"; return a; }
    row.classList.toggle("short", a.change < 0);
    $("#pay-change-label").textContent = a.change < 0 ? T.short : T.change;
    $("#pay-change").textContent = showMoney(Math.abs(a.change));
    return a;
  }
  $("#pay-cash").addEventListener("input", recalc);
  $("#pay-card").addEventListener("input", recalc);
  $$("#dlg-pay .tab").forEach((tab) => tab.addEventListener("click", () => setMode(tab.dataset.mode)));
  let paying = false;
  $("#pay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (paying) return; // a double Enter: the first payment is on its way
    const a = recalc();
    if (a.error) { $("#pay-error").textContent = a.error; return; }
    paying = true;
    $("#pay-submit").disabled = true;
    const params = { cash: pay.mode === "card" ? "0" : (a.given / 100).toFixed(2), card_amount: (a.card / 100).toFixed(2), version: state().version };
    act("/ui/sale/pay", params).then(() => {
      if ($("#totals").dataset.paid || $("#message").dataset.printFault) $("#dlg-pay").close(); // a print fault: the panel says what to do
      else $("#pay-error").textContent = stateError() || T.empty;
    }).finally(() => { paying = false; $("#pay-submit").disabled = false; });
  });
  $("#dlg-pay").addEventListener("keydown", (event) => {
    if (event.key === "Insert") { event.preventDefault(); setMode("cash"); }
    else if (event.key === "Delete" && !(event.target.value || "")) { event.preventDefault(); setMode("card"); }
    else if ((event.key === "m" || event.key === "M" || event.code === "KeyM") && event.target.tagName !== "INPUT") { event.preventDefault(); setMode("mixed"); }
  });

  /* A device action (drawer, copy): the till answers {ok, message} for a toast. */
  function deviceAction(url, params) {
    return enqueue(async () => {
      const text = await post(url, params, false);
      if (text == null) return;
      const answer = JSON.parse(text);
      toast(answer.message, !answer.ok);
    });
  }
  $("#panel-body").addEventListener("click", (event) => {
    const copy = event.target.closest("[data-print-copy]");
    if (copy) deviceAction("/ui/copy", { uuid: copy.dataset.printCopy });
  });

  /* ---------------------------------------------------------------- actions by name (keys and buttons) */
  const actions = {
    scan: doScan,
    catalogue: () => loadPanel(T.catalogue, "/ui/catalogue"),
    cancel: () => {
      if (!parseInt(state().lines || "0", 10)) { toast(T.empty, true); return; }
      confirmDo(T.cancel_title, T.cancel_text, () => act("/ui/sale/cancel", {}));
    },
    storno: () => {
      const row = selectedLine();
      if (!row) { toast(T.no_line, true); return; }
      act("/ui/sale/storno", { line_no: row.dataset.line });
    },
    return: () => {
      if (role < CASHIER) { toast(T.cashier_only, true); return; }
      loadPanel(T.return, "/ui/returns/find");
    },
    quantity: () => openNumber("quantity"),
    price: () => openNumber("price"),
    discount: () => openNumber("discount"),
    card: openCard,
    "pay-cash": () => openPay("cash"),
    "pay-card": () => openPay("card"),
    defer: () => act("/ui/sale/defer", {}),
    deferred: () => loadPanel(T.deferred, "/ui/sale/deferred"),
    x: () => { if (role < CASHIER) toast(T.cashier_only, true); else loadPanel(T.x, "/ui/x"); },
    z: () => {
      if (role < CASHIER) { toast(T.cashier_only, true); return; }
      confirmDo(T.z_title, T.z_text, () => enqueue(async () => {
        const html = await post("/ui/z", { idem: newKey() }, false);
        if (html != null) openPanel(T.z, html);
      }));
    },
    drawer: () => {
      if (role < CASHIER) { toast(T.cashier_only, true); return; }
      if (sale.dataset.printer !== "1") { toast(T.drawer_none, true); return; }
      deviceAction("/ui/drawer", {});
    },
    copy: () => { if (role < CASHIER) toast(T.cashier_only, true); else loadPanel(T.copy, "/ui/sale/last"); },
    "print-retry": () => {
      // Pay again with the payment the failed print was for; the till reconciles with the registrar first.
      const message = $("#message");
      if (!message.dataset.printFault) return;
      act("/ui/sale/pay", { cash: message.dataset.pfCash, card_amount: message.dataset.pfCard, version: state().version });
    },
    "print-release": () => {
      if (!$("#message").dataset.printFault) return;
      confirmDo(T.release_title, T.release_text, () => act("/ui/sale/print-release", {}, false));
    },
    help: () => { $("#dlg-help").showModal(); },
  };
  const KEYS = {
    Home: "catalogue", "/": "cancel", "*": "storno", PageUp: "return", "+": "quantity", "-": "price", F8: "discount",
    Insert: "pay-cash", Delete: "pay-card", "[": "defer", "]": "deferred", F11: "x", F12: "z", PageDown: "drawer",
    F2: "copy", F1: "help",
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button && sale.contains(button)) {
      actions[button.dataset.action]();
      if (!anyDialogOpen()) scan.focus(); // the next scan must land in the barcode field, not on the button
      return;
    }
    const row = event.target.closest("#lines tr.line");
    if (row) { selectRow(row); return; }
    if (!anyDialogOpen() && !event.target.closest("input, select, textarea, button, a, dialog")) scan.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (anyDialogOpen()) {
      if (event.key === "F1") event.preventDefault();
      return;
    }
    const target = event.target;
    const inScan = target === scan;
    if (!inScan && target.matches && target.matches("input, select, textarea")) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Enter") {
      if (inScan || target === document.body) { event.preventDefault(); doScan(); }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveSelection(event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (event.code === "KeyC" && !scan.value) { event.preventDefault(); openCard(); return; }
    const name = KEYS[event.key];
    if (!name) {
      if (!inScan && event.key.length === 1) { // a scanner typing while the focus is elsewhere: into the field
        event.preventDefault();
        scan.focus();
        scan.value += event.key;
      }
      return;
    }
    if (name === "pay-card" && inScan && scan.value) return; // Delete edits a typed barcode
    event.preventDefault();
    actions[name]();
  });
  /* The sync dot in the status bar: a slow poll and a look after each payment. Never focused, never
   * in the queue: a failed poll just leaves the dot as it was. */
  let syncBusy = false;
  async function syncIndicator() {
    const old = $("#sync-ind");
    if (!old || syncBusy) return;
    syncBusy = true;
    try {
      const response = await fetch("/ui/sync/indicator", { credentials: "same-origin" });
      if (!response.ok) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = await response.text();
      const fresh = tpl.content.getElementById("sync-ind");
      if (fresh) $("#sync-ind").replaceWith(fresh);
    } catch (err) {
      /* the till itself is unreachable: the receipt queue tells the cashier */
    } finally {
      syncBusy = false;
    }
  }
  setInterval(syncIndicator, 15000);
  let lastPaid = "";
  document.addEventListener("icecash:rendered", () => {
    const paid = $("#totals").dataset.paid || "";
    if (paid && paid !== lastPaid) setTimeout(syncIndicator, 300);
    lastPaid = paid;
  });
  window.addEventListener("pageshow", (event) => { if (event.persisted) refresh(); });
  window.addEventListener("focus", () => { if (!anyDialogOpen()) scan.focus(); });
  scan.focus();
  window.icecash = { refresh, parseMoney, showMoney, syncIndicator, pending: () => pending };
})();
