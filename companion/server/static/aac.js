// The communication aid: the user types or picks their words and the avatar says them as they
// are. Everything is reachable by keyboard; single-switch scanning and dwell selection drive the
// same buttons. Boards, quick phrases and history live on the server (this computer only).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const stats = window.__companion;
  stats.aac = { pressed: [], heardAfter: [], suggestions: [] };
  const aac = { user: "me", boards: [], quick: [], history: [], board: null, editing: null };
  let pressedAt = null, recall = -1, suggestions = [], pick = 0;
  const on = () => $("mode-pick").value === "aac";
  const q = () => `user=${encodeURIComponent(aac.user)}`;
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const api = async (path, opts = {}) => {
    const r = await fetch(`/api/aac/${path}${path.includes("?") ? "&" : "?"}${q()}`, opts);
    const body = r.headers.get("content-type")?.includes("json") ? await r.json() : {};
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  };
  const fail = (e) => { $("error").textContent = e.message; stats.errors.push(e.message); };

  // ------------------------------------------------------------------ speaking
  function speak(text, button) {
    text = text.trim();
    if (!text) return;
    window.companionResumeAudio();
    pressedAt = window.companionClock();
    stats.aac.pressed.push(text);
    if (button && button.sound_id) window.companionSend({ type: "play", board: aac.board.id, button: button.id });
    else window.companionSend({ type: "speak", text });
    aac.history.push({ text }); recall = -1;
    $("partner-text").textContent = text;
  }
  const hush = () => window.companionSend({ type: "stop" });
  window.onVoiceScheduled = (when) => {  // key press → the first of its voice, on the audio clock
    if (pressedAt === null) return;
    const after = Math.max(0, when - pressedAt);
    stats.aac.heardAfter.push(after); pressedAt = null;
    $("aac-said").textContent = `spoken after ${after.toFixed(2)} s`;
  };

  // Sentences are spoken as soon as they are finished (". " "? " "! "), while the user types on.
  function speakFinished() {
    const box = $("aac-text");
    if (!$("aac-sentences").checked || box.selectionStart !== box.value.length) return;
    const m = box.value.match(/^(.*[.!?])\s+(\S*)$/s);
    if (m && m[1].trim()) { speak(m[1]); box.value = m[2]; }
  }

  // ------------------------------------------------------------------ suggestions
  let suggestTimer = null;
  function refreshSuggestions() {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(async () => {
      try {
        const r = await api(`suggest?text=${encodeURIComponent($("aac-text").value)}`);
        suggestions = r.suggestions; pick = 0; stats.aac.suggestions = suggestions.map((s) => s.text);
        drawSuggestions();
      } catch (e) { fail(e); }
    }, 40);
  }
  function drawSuggestions() {
    $("aac-suggest").replaceChildren(...suggestions.map((s, i) => {
      const b = el("button", s.text, "aac-key" + (i === pick ? " picked" : "")); b.type = "button";
      b.setAttribute("aria-label", `${s.kind === "phrase" ? "Expand to" : "Word"}: ${s.text}`);
      b.onclick = () => accept(s); return b;
    }));
  }
  function accept(s) {
    const box = $("aac-text"), v = box.value;
    if (s.kind === "next") box.value = v + (v && !/\s$/.test(v) ? " " : "") + s.text + " ";
    else box.value = v.replace(/[\w']+$/, "") + s.text + (s.kind === "phrase" && /[.!?]$/.test(s.text) ? "" : " ");
    box.focus(); refreshSuggestions();
  }

  // ------------------------------------------------------------------ boards
  function drawQuick() {
    $("aac-quick").replaceChildren(...aac.quick.map((p, i) => {
      const b = el("button", p, "aac-key quick"); b.type = "button";
      if (i < 9) { b.dataset.key = `Alt+${i + 1}`; b.setAttribute("aria-keyshortcuts", `Alt+${i + 1}`); }
      b.onclick = () => speak(p); return b;
    }));
  }
  function drawBoard() {
    const board = aac.board, grid = $("aac-board");
    grid.replaceChildren(); if (!board) return;
    grid.style.gridTemplateColumns = `repeat(${board.grid.columns}, minmax(6rem, 1fr))`;
    const byId = Object.fromEntries(board.buttons.map((b) => [b.id, b]));
    const images = Object.fromEntries((board.images || []).map((i) => [i.id, i]));
    for (const row of board.grid.order) {
      const r = el("div", undefined, "aac-row board-row"); r.setAttribute("role", "group");
      for (const id of row) {
        const b = id && byId[id];
        if (!b) { r.appendChild(el("span", "", "aac-empty")); continue; }
        const btn = el("button", undefined, "aac-key cell"); btn.type = "button"; btn.dataset.id = b.id;
        const img = images[b.image_id];
        if (img && img.data) { const i = el("img"); i.src = img.data; i.alt = ""; btn.appendChild(i); }  // never a remote URL
        btn.appendChild(el("span", b.label));
        if (b.background_color) btn.style.background = b.background_color;
        btn.setAttribute("aria-label", b.spoken === b.label ? b.label : `${b.label}: says ${b.vocalization || b.label}`);
        if (b.sound_id) btn.classList.add("banked");
        btn.onclick = () => pressButton(b);
        r.appendChild(btn);
      }
      grid.appendChild(r);
    }
    $("aac-export-obf").href = `/api/aac/export/${encodeURIComponent(board.id)}.obf?${q()}`;
    $("aac-export-obz").href = `/api/aac/export.obz?${q()}`;
  }
  function pressButton(b) {
    if (aac.editing) { editButton(b); return; }
    if (b.load_board && b.load_board.id) { showBoard(b.load_board.id); if (!b.vocalization) return; }
    speak(b.vocalization || b.label, b);
  }
  function showBoard(id) {
    aac.board = aac.boards.find((b) => b.id === id) || aac.boards[0];
    $("aac-board-pick").value = aac.board.id;
    drawBoard();
    window.companionSend({ type: "prepare", texts: aac.board.buttons.slice(0, 60).map((b) => b.vocalization || b.label).filter(Boolean) });
  }
  async function load() {
    try {
      const s = await api("state");
      Object.assign(aac, { boards: s.boards, quick: s.quick, history: s.history });
      $("aac-board-pick").replaceChildren(...s.boards.map((b) => { const o = el("option", b.name); o.value = b.id; return o; }));
      drawQuick(); drawHistory();
      showBoard(aac.board && s.boards.some((b) => b.id === aac.board.id) ? aac.board.id : s.boards[0].id);
      $("ed-quick").value = aac.quick.join("\n");
      stats.aac.loaded = { boards: s.boards.map((b) => b.id), quick: s.quick };
    } catch (e) { fail(e); }
  }

  // ------------------------------------------------------------------ editing
  function editButton(b) {
    aac.editing = b;
    $("ed-label").value = b.label; $("ed-says").value = b.vocalization || "";
    for (const x of $("aac-board").querySelectorAll(".cell")) x.classList.toggle("picked", x.dataset.id === b.id);
    $("ed-label").focus();
  }
  async function saveBoard() {
    const board = aac.board;
    await api("board", { method: "PUT", body: JSON.stringify(board), headers: { "content-type": "application/json" } });
  }
  $("aac-editor").onsubmit = async (e) => {
    e.preventDefault();
    const b = aac.editing; if (!b || b === true) return;
    b.label = $("ed-label").value.trim() || b.label; b.vocalization = $("ed-says").value.trim();
    try {
      await saveBoard();
      const f = $("ed-sound").files[0] || recorded;
      recorded = null;
      if (f) { await api(`bank/${encodeURIComponent(aac.board.id)}/${encodeURIComponent(b.id)}`, { method: "POST", body: f, headers: { "content-type": f.type || "audio/webm" } }); $("ed-sound").value = ""; }
      await load();
    } catch (err) { fail(err); }
  };
  // Message banking in the page: record the button's words with the microphone (up to 30 s).
  let recorded = null, recorder = null;
  $("ed-record").onclick = async () => {
    if (recorder) { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const parts = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => parts.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        recorded = new Blob(parts, { type: recorder.mimeType || "audio/webm" });
        recorder = null;
        $("ed-record").textContent = "Record my voice"; $("ed-record").setAttribute("aria-pressed", "false");
        $("aac-said").textContent = `recorded ${(recorded.size / 1024).toFixed(0)} kB — Save button keeps it`;
      };
      recorder.start();
      setTimeout(() => recorder && recorder.stop(), 30000);
      $("ed-record").textContent = "Stop recording"; $("ed-record").setAttribute("aria-pressed", "true");
    } catch (e) { fail(new Error("Cannot record: " + e.message)); }
  };
  $("ed-add").onclick = async () => {
    const board = aac.board, id = "b" + Date.now().toString(36);
    board.buttons.push({ id, label: "New", vocalization: "" });
    const row = board.grid.order.find((r) => r.includes(null));
    if (row) row[row.indexOf(null)] = id; else { board.grid.order.push([id, ...Array(board.grid.columns - 1).fill(null)]); board.grid.rows++; }
    try { await saveBoard(); await load(); editButton(aac.board.buttons.find((b) => b.id === id)); } catch (e) { fail(e); }
  };
  $("ed-delete").onclick = async () => {
    const b = aac.editing; if (!b || b === true) return;
    aac.board.buttons = aac.board.buttons.filter((x) => x.id !== b.id);
    aac.board.grid.order = aac.board.grid.order.map((r) => r.map((c) => (c === b.id ? null : c)));
    try { await saveBoard(); aac.editing = true; await load(); } catch (e) { fail(e); }
  };
  $("ed-quick-save").onclick = async () => {
    try { await api("quick", { method: "PUT", body: JSON.stringify({ phrases: $("ed-quick").value.split("\n") }) }); await load(); } catch (e) { fail(e); }
  };
  $("aac-edit").onclick = () => {
    aac.editing = aac.editing ? null : true;
    $("aac-editor").hidden = !aac.editing; $("aac-edit").setAttribute("aria-pressed", String(!!aac.editing));
    drawBoard();
  };
  $("aac-import").onchange = async (e) => {
    const f = e.target.files[0]; if (!f) return;
    try {
      const r = await api(`import?name=${encodeURIComponent(f.name)}`, { method: "POST", body: f });
      await load(); showBoard(r.imported[0]); $("error").textContent = "";
    } catch (err) { fail(err); }
    e.target.value = "";
  };

  // ------------------------------------------------------------------ history
  function drawHistory() {
    $("aac-history").replaceChildren(...aac.history.slice(-50).reverse().map((h) => {
      const li = el("li"); li.append(el("span", h.text + " "));
      const again = el("button", "Say again", "aac-key small-key"); again.type = "button"; again.onclick = () => speak(h.text);
      const edit = el("button", "Edit", "aac-key small-key"); edit.type = "button"; edit.onclick = () => { $("aac-text").value = h.text; $("aac-text").focus(); };
      const del = el("button", "Delete", "aac-key small-key"); del.type = "button";
      del.onclick = async () => { try { if (h.n) await api(`history?n=${h.n}`, { method: "DELETE" }); await load(); } catch (e) { fail(e); } };
      li.append(again, edit, del); return li;
    }));
  }
  $("aac-forget").onclick = async () => { try { await api("history", { method: "DELETE" }); await load(); } catch (e) { fail(e); } };

  // ------------------------------------------------------------------ keys
  $("aac-form").onsubmit = (e) => { e.preventDefault(); speak($("aac-text").value); $("aac-text").value = ""; refreshSuggestions(); };
  $("aac-text").addEventListener("input", () => { speakFinished(); refreshSuggestions(); });
  $("aac-text").addEventListener("keydown", (e) => {
    const box = e.target;
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("aac-form").requestSubmit(); }
    else if (e.key === "Tab" && !e.shiftKey && suggestions.length && box.value.trim()) { e.preventDefault(); accept(suggestions[pick]); }
    else if (e.key === "ArrowDown" && suggestions.length) { e.preventDefault(); pick = (pick + 1) % suggestions.length; drawSuggestions(); }
    else if (e.key === "ArrowUp" && suggestions.length && box.value) { e.preventDefault(); pick = (pick + suggestions.length - 1) % suggestions.length; drawSuggestions(); }
    else if (e.key === "ArrowUp" && !box.value && aac.history.length) {
      e.preventDefault(); recall = Math.min(aac.history.length - 1, recall + 1);
      box.value = aac.history[aac.history.length - 1 - recall].text;
    }
  });
  $("aac-stop").onclick = hush;
  document.addEventListener("keydown", (e) => {
    if (!on()) return;
    if (e.key === "Escape") { e.preventDefault(); hush(); return; }
    if (e.altKey && /^Digit[1-9]$/.test(e.code)) {
      const p = aac.quick[Number(e.code.slice(5)) - 1];
      if (p) { e.preventDefault(); speak(p); }
    }
  });

  // ------------------------------------------------------------------ access: scanning, dwell
  const scan = { timer: null, level: "rows", row: -1, item: -1, laps: 0 };
  const rows = () => [...document.querySelectorAll("#aac .aac-row")].filter((r) => !r.closest("[hidden]") && r.querySelector("button"));
  const items = (r) => [...r.querySelectorAll("button")];
  function highlight() {
    for (const x of document.querySelectorAll(".scan-row, .scan-item")) x.classList.remove("scan-row", "scan-item");
    const rs = rows(); const r = rs[scan.row]; if (!r) return;
    if (scan.level === "rows") r.classList.add("scan-row");
    else { const it = items(r)[scan.item]; if (it) { it.classList.add("scan-item"); it.focus({ preventScroll: true }); } }
    stats.aac.scan = { level: scan.level, row: scan.row, item: scan.item };
  }
  function step() {
    const rs = rows(); if (!rs.length) return;
    if (scan.level === "rows") scan.row = (scan.row + 1) % rs.length;
    else {
      const n = items(rs[scan.row] || rs[0]).length;
      scan.item++;
      if (scan.item >= n) { scan.item = 0; if (++scan.laps >= 2) { scan.level = "rows"; scan.laps = 0; } }
    }
    highlight();
  }
  function switchPressed() {
    const rs = rows(); if (!rs.length) return;
    if (scan.level === "rows") { if (scan.row < 0) scan.row = 0; scan.level = "items"; scan.item = 0; scan.laps = 0; }
    else { const it = items(rs[scan.row])[scan.item]; scan.level = "rows"; if (it) it.click(); }
    highlight(); restartScan();
  }
  function restartScan() {
    clearInterval(scan.timer); scan.timer = null;
    if ($("scan-on").checked && on()) scan.timer = setInterval(step, Math.max(300, Number($("scan-ms").value) || 1200));
  }
  $("scan-on").onchange = () => {
    scan.level = "rows"; scan.row = -1; restartScan();
    if ($("scan-on").checked) document.activeElement.blur();  // the switch works from now on
    else highlight();
  };
  $("scan-ms").onchange = restartScan;
  document.addEventListener("keydown", (e) => {
    // typing, and the settings themselves (so scanning can be turned off), are not the switch
    const t = e.target;
    if (!on() || !$("scan-on").checked || e.repeat || t.closest?.("#aac-access")
        || ["TEXTAREA", "INPUT", "SELECT"].includes(t.tagName)) return;
    const key = $("scan-key").value.trim() || "Space";
    if (e.code === key || e.key === key || e.code === "Enter") { e.preventDefault(); switchPressed(); }
  }, true);
  // After a dwell press nothing more is pressed until the pointer moves: a resting gaze (or
  // the page shifting under it) must not fire button after button.
  let dwell = null, dwellLocked = false;
  document.addEventListener("pointermove", (e) => { if (e.movementX || e.movementY) dwellLocked = false; });
  document.addEventListener("pointerover", (e) => {
    const b = e.target.closest && e.target.closest("#aac button");
    if (!b || !$("dwell-on").checked || dwell?.b === b || dwellLocked) return;
    if (dwell) { clearTimeout(dwell.t); dwell.b.classList.remove("dwelling"); }
    b.style.setProperty("--dwell", `${Number($("dwell-ms").value) || 1000}ms`); b.classList.add("dwelling");
    dwell = { b, t: setTimeout(() => { b.classList.remove("dwelling"); dwell = null; dwellLocked = true; b.click(); }, Number($("dwell-ms").value) || 1000) };
  });
  document.addEventListener("pointerout", (e) => {
    if (dwell && e.target.closest && e.target.closest("button") === dwell.b && !dwell.b.contains(e.relatedTarget)) { clearTimeout(dwell.t); dwell.b.classList.remove("dwelling"); dwell = null; }
  });

  // ------------------------------------------------------------------ the mode
  $("aac-contrast").onchange = (e) => document.body.classList.toggle("contrast", e.target.checked);
  $("aac-partner").onclick = () => {
    const p = !document.body.classList.contains("partner");
    document.body.classList.toggle("partner", p); $("partner-text").hidden = !p;
    $("aac-partner").setAttribute("aria-pressed", String(p));
  };
  $("aac-board-pick").onchange = (e) => showBoard(e.target.value);
  $("aac-user").onchange = (e) => { aac.user = e.target.value.trim() || "me"; load(); window.companionConnect(); };
  $("aac-crisis-close").onclick = () => { $("aac-crisis").hidden = true; };
  function setMode() {
    const aid = on();
    $("aac").hidden = !aid; $("mic-row").hidden = aid;
    $("say").hidden = aid || ($("mode-pick").value === "practice");
    document.body.classList.toggle("aid", aid);
    if (aid) {
      load(); $("aac-text").focus();
      $("disclosure").textContent = "The avatar is AI-generated. It says its user's own words.";
    }
    restartScan();
  }
  $("mode-pick").addEventListener("change", setMode);
  const baseHello = window.companionHello;
  window.companionHello = () => (on() ? { mode: "aac", user: aac.user } : baseHello());
  window.companionNoMic = on;
  window.companionBuffer = () => (on() ? 0.06 : 0.15);
  const baseEvent = window.onCompanionEvent;
  window.onCompanionEvent = (m) => {
    if (m.type === "crisis" && m.blocking === false) {
      stats.crisis.push({ category: m.category, blocking: false });
      $("aac-crisis-message").textContent = m.message;
      $("aac-crisis-resources").replaceChildren(...m.resources.map((r) => el("li", r)));
      $("aac-crisis").hidden = false;
    }
    if (m.type === "caption" && on()) $("partner-text").textContent = m.text;
    if (m.type === "transcript" && m.role === "self") { drawHistory(); }
    baseEvent(m);
  };
  window.companionAAC = { speak, load, state: aac };
  // A bookmark straight into the aid: /?mode=aac (&user=NAME)
  const params = new URLSearchParams(location.search);
  if (params.get("user")) { aac.user = params.get("user"); $("aac-user").value = aac.user; }
  if (params.get("mode") === "aac") { $("mode-pick").value = "aac"; setMode(); }
})();
