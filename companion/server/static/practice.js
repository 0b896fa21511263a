// Practice mode (briefing → conversation with a timer and a time out → end → debrief) and the
// crisis notice, which every mode shows when the server's safeguard finds a risk.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const stats = window.__companion;
  stats.crisis = []; stats.debrief = null; stats.practice = null;
  let briefs = {}, practising = null, timer = null, elapsed = 0, paused = false;

  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const fill = (id, items) => { const box = $(id); box.replaceChildren(...items); };

  function showBrief() {
    const b = briefs[$("scenario-pick").value];
    if (!b) return;
    $("brief-title").textContent = b.title;
    $("brief-partner").textContent = `The avatar plays ${b.partner}: ${b.role}.`;
    $("brief-goal").textContent = b.goal;
    $("brief-text").textContent = b.briefing;
    fill("brief-skills", b.skills.map((s) => { const li = el("li"); li.append(el("strong", s.name + ": "), s.hint); return li; }));
  }

  function setMode() {
    const practice = $("mode-pick").value === "practice";
    $("practice").hidden = !practice;
    $("say").hidden = practice && !practising;
    if (practice) { practising = null; stopTimer(); window.companionDisconnect(); $("briefing").hidden = false; $("debrief").hidden = true; $("practice-bar").hidden = true; showBrief(); }
    else { practising = null; stopTimer(); window.companionConnect(); }
  }

  function tick() { if (!paused) { elapsed++; $("timer").textContent = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, "0")}`; } }
  function stopTimer() { if (timer) clearInterval(timer); timer = null; }

  function start(difficulty) {
    const key = $("scenario-pick").value;
    practising = { scenario: key, difficulty: Number(difficulty || $("difficulty-pick").value) };
    $("difficulty-pick").value = String(practising.difficulty);
    stats.practice = { ...practising, started: performance.now() };
    stats.debrief = null;
    $("briefing").hidden = true; $("debrief").hidden = true; $("practice-bar").hidden = false;
    $("say").hidden = false; $("captions").replaceChildren();
    elapsed = 0; paused = false; $("timer").textContent = "0:00";
    $("timeout").textContent = "Time out"; $("timeout").setAttribute("aria-pressed", "false");
    window.companionConnect();
  }

  window.companionHello = () => practising ? { mode: "practice", ...practising } : { mode: "companion" };
  // In practice mode nothing connects until the user has read the briefing and pressed start.
  window.companionHoldConnect = () => $("mode-pick").value === "practice" && !practising;

  window.onCompanionInfo = (info) => {
    const found = (info.scenarios && info.scenarios.found) || [];
    if (!info.practice || !found.length) { $("mode-pick").querySelector("[value=practice]").disabled = true; return; }
    for (const b of found) {
      briefs[b.key] = b;
      const o = el("option", b.title); o.value = b.key; $("scenario-pick").appendChild(o);
    }
    $("scenario-pick").onchange = () => { $("difficulty-pick").value = String(briefs[$("scenario-pick").value].difficulty); showBrief(); };
    $("difficulty-pick").value = String(found[0].difficulty);
    showBrief();
  };

  function showDebrief(d) {
    stats.debrief = d; stopTimer(); practising = null;
    $("practice-bar").hidden = true; $("debrief").hidden = false; $("say").hidden = true;
    $("d-title").textContent = d.title;
    fill("d-reactions", d.reactions.map((q, i) => { const l = el("label", q); const t = el("textarea"); t.rows = 2; t.id = `d-react-${i}`; t.setAttribute("aria-label", q); l.append(el("br"), t); return el("p").appendChild(l).parentNode; }));
    fill("d-transcript", d.transcript.flatMap((t) => {
      const you = el("li", t.you, "user"); const [who] = Object.keys(t).filter((k) => k !== "you");
      const them = el("li", t[who], "assistant"); them.dataset.name = who; return [you, them];
    }));
    const pct = (x) => x === null ? "–" : `${Math.round(x * 100)} %`;
    const rows = [["Minutes practised", d.minutes], ["Turns", d.turns], ["Your share of the talking", pct(d.talk_share)],
      ["Words per minute (spoken)", d.words_per_minute ?? "–"], ["Longest turn", `${d.longest_turn_words} words`],
      ["Questions you asked", d.questions], ["Times you cut in", d.interruptions],
      ["The partner gave way", d.partner_gave_way ? "yes" : "not yet"]];
    fill("d-figures", rows.map(([k, v]) => { const tr = el("tr"); tr.append(el("td", k), el("td", String(v))); tr.dataset.figure = k; return tr; }));
    fill("d-skills", d.skills.map((s) => { const li = el("li"); li.dataset.skill = s.key; li.append(el("strong", s.name)); for (const q of s.quotes) li.append(el("blockquote", `“${q}”`)); return li; }));
    fill("d-missing", d.missing.map((s) => { const li = el("li"); li.append(el("strong", s.name + ": "), s.hint); return li; }));
    $("d-next").textContent = d.safeguard ? "The role-play was stopped by the safeguard. Please look after yourself first." : d.next_step;
    $("d-reflection").hidden = !d.reflection;
    if (d.reflection) { $("d-reflection-by").textContent = `Written by a language model (${d.reflection_by}); it can be wrong.`; $("d-reflection-text").textContent = d.reflection; }
    $("d-harder").disabled = d.difficulty >= 3;
    $("debrief").focus();
  }

  function exportJson() {
    const d = { ...stats.debrief, your_reactions: stats.debrief.reactions.map((q, i) => ({ question: q, answer: ($(`d-react-${i}`) || {}).value || "" })) };
    const a = el("a"); a.href = URL.createObjectURL(new Blob([JSON.stringify(d, null, 1)], { type: "application/json" }));
    a.download = `debrief-${d.scenario}.json`; a.click(); URL.revokeObjectURL(a.href);
  }

  function showCrisis(m) {
    stats.crisis.push({ category: m.category, at: performance.now() });
    stopTimer();
    $("crisis-message").textContent = m.message;
    fill("crisis-resources", m.resources.map((r) => el("li", r)));
    const box = $("crisis"), close = $("crisis-close");
    box.hidden = false; close.disabled = true;
    let left = m.hold_s;
    close.textContent = `Close (in ${left} s)`;
    const t = setInterval(() => {
      left--;
      if (left > 0) { close.textContent = `Close (in ${left} s)`; return; }
      clearInterval(t); close.disabled = false; close.textContent = "I have read this — close";
    }, 1000);
    close.focus();
  }
  $("crisis-close").onclick = () => {
    $("crisis").hidden = true;
    // The role-play does not go on by itself: the user chooses to.
    const go = document.createElement("button"); go.type = "button"; go.id = "crisis-resume";
    go.textContent = "Go back to the conversation"; go.onclick = () => { window.companionSend({ type: "resume" }); go.remove(); };
    $("error").replaceChildren(go);
  };

  window.onCompanionEvent = (m) => {
    if (m.type === "ready" && practising) { if (!timer) timer = setInterval(tick, 1000); }
    else if (m.type === "crisis" && m.blocking !== false) showCrisis(m);  // the aid shows its own
    else if (m.type === "resumed") { stats.crisis.push({ resumed: true }); if (practising && !timer) timer = setInterval(tick, 1000); }
    else if (m.type === "paused") { paused = m.on; $("timeout").textContent = m.on ? "Resume" : "Time out"; $("timeout").setAttribute("aria-pressed", String(m.on)); }
    else if (m.type === "debrief") showDebrief(m);
  };

  $("mode-pick").onchange = setMode;
  $("practice-start").onclick = () => start();
  $("timeout").onclick = () => window.companionSend({ type: "pause", on: !paused });
  $("practice-end").onclick = () => window.companionSend({ type: "end" });
  $("d-again").onclick = () => start(stats.debrief.difficulty);
  $("d-harder").onclick = () => start(Math.min(3, stats.debrief.difficulty + 1));
  $("d-json").onclick = exportJson;
  $("d-print").onclick = () => window.print();
  window.companionPractice = { start };
})();
