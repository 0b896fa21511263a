// The page's upload + consent flow (server side: companion/server/consent_api.py).
// Artwork and synthetic faces need a typed attestation; a real person records themselves on the
// webcam saying the phrase the server issued, with its one-time code on screen.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const st = (window.__companion.consent = { upload: null, challenge: null, result: null, errors: [] });
  const tok = new URLSearchParams(location.search).get("token");
  const auth = tok ? { Authorization: "Bearer " + tok } : {};
  let upload = null, challenge = null, recorder = null, chunks = [], stream = null, timer = null;

  function status(msg, kind) {
    const el = $("consent-status");
    el.textContent = msg;
    el.className = "status " + (kind || "");
    if (kind === "bad") st.errors.push(msg);
  }

  async function call(path, body, json = true) {
    const headers = { ...auth };
    if (json) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method: "POST", headers, body: json ? JSON.stringify(body) : body });
    let doc = {};
    try { doc = await r.json(); } catch (e) { doc = { error: `the server answered ${r.status}` }; }
    if (!r.ok) throw new Error(doc.error || `the server answered ${r.status}`);
    return doc;
  }

  function kind() { return document.querySelector("input[name=kind]:checked").value; }
  function showKind() {
    $("attest-form").hidden = kind() === "real-person";
    $("clip-form").hidden = kind() !== "real-person";
  }

  function useAvatar(consentId, label) {
    const pick = $("avatar-pick");
    let o = [...pick.options].find((x) => x.value === consentId);
    if (!o) { o = document.createElement("option"); o.value = consentId; pick.appendChild(o); }
    o.textContent = `${label} (yours)`;
    pick.value = consentId;
    showRevoke();
    window.companionRestart();
  }

  function showRevoke() { $("revoke").hidden = !$("avatar-pick").value.startsWith("c_"); }

  $("portrait-file").onchange = async (e) => {
    const file = e.target.files[0];
    upload = null; st.upload = null;
    $("kind").disabled = true;
    if (!file) return;
    if (file.size > 25 * 1024 * 1024) { status("This image is larger than 25 MB: use a smaller copy.", "bad"); return; }
    status("Checking the portrait…");
    try {
      const r = await call("/api/uploads?name=" + encodeURIComponent(file.name), file, false);
      upload = st.upload = r.upload;
      $("kind").disabled = false;
      showKind();
      status(`One face found (${r.width}×${r.height}). Now say what this face is.`, "ok");
    } catch (err) {
      status("This image cannot be used: " + err.message, "bad");
    }
  };
  for (const r of document.querySelectorAll("input[name=kind]")) r.onchange = showKind;

  // The deployment may refuse typed attestations (served beyond this computer, by default):
  // then only a recorded consent clip can make a portrait usable.
  fetch("/api/info" + (tok ? "?token=" + encodeURIComponent(tok) : "")).then((r) => r.json()).then((info) => {
    if (info.attestation !== false) return;
    for (const r of document.querySelectorAll("input[name=kind]")) {
      if (r.value !== "real-person") r.disabled = true;
      else r.checked = true;
    }
    $("clips-only").hidden = false;
    showKind();
  }).catch(() => {});

  $("attest-form").onsubmit = async (e) => {
    e.preventDefault();
    try {
      const r = await call("/api/consent/attest", { upload, category: kind(), statement: $("statement").value });
      st.result = r;
      status(`Recorded (${r.consent_id}). The portrait is now your avatar.`, "ok");
      useAvatar(r.consent_id, $("portrait-file").files[0]?.name || "portrait");
    } catch (err) { status(err.message, "bad"); }
  };

  $("challenge-form").onsubmit = async (e) => {
    e.preventDefault();
    try {
      challenge = st.challenge = await call("/api/consent/challenge", { name: $("consent-name").value });
      $("phrase").textContent = challenge.phrase;
      $("action").textContent = challenge.action_text;
      $("phrase-box").hidden = false;
      const until = Date.now() + challenge.expires_in * 1000;
      clearInterval(timer);
      timer = setInterval(() => {
        const left = Math.max(0, Math.round((until - Date.now()) / 1000));
        $("countdown").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
        if (!left) { clearInterval(timer); status("The code expired: ask for a new phrase.", "bad"); }
      }, 500);
      status(`Press Record, say the phrase, then ${challenge.action_text}, then Stop.`);
    } catch (err) { status(err.message, "bad"); }
  };

  $("record").onclick = async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    } catch (err) { status("Camera or microphone unavailable: " + err.message, "bad"); return; }
    $("preview").srcObject = stream;
    $("preview").play().catch(() => {});
    const type = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"].find((t) => MediaRecorder.isTypeSupported(t));
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    chunks = [];
    recorder.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
    recorder.onstop = sendClip;
    recorder.start(250);
    st.recording = true;
    $("record").disabled = true; $("stop").disabled = false;
    status(`Recording… say the phrase, then ${challenge.action_text}, then press Stop.`);
    setTimeout(() => { if (recorder && recorder.state === "recording") recorder.stop(); }, 25000);
  };
  $("stop").onclick = () => { if (recorder && recorder.state === "recording") recorder.stop(); };

  async function sendClip() {
    st.recording = false;
    for (const t of stream.getTracks()) t.stop();
    $("stop").disabled = true; $("record").disabled = false;
    status("Checking your recording (speech, face, liveness)…");
    const blob = new Blob(chunks, { type: recorder.mimeType || "video/webm" });
    try {
      const q = `upload=${encodeURIComponent(upload)}&challenge=${encodeURIComponent(challenge.challenge)}`;
      const r = await call("/api/consent/clip?" + q, blob, false);
      st.result = r;
      clearInterval(timer);
      $("phrase-box").hidden = true;
      status(`Consent recorded (${r.consent_id}): heard "${r.checks.transcript}". The portrait is now your avatar.`, "ok");
      useAvatar(r.consent_id, $("consent-name").value);
    } catch (err) {
      status(err.message + " — ask for a new phrase to try again.", "bad");
    }
  }

  $("revoke").onclick = async () => {
    const id = $("avatar-pick").value;
    if (!id.startsWith("c_") || !confirm("Revoke consent? The portrait and its recordings are deleted.")) return;
    try {
      await call("/api/consent/revoke", { consent_id: id });
      $("avatar-pick").querySelector(`option[value="${id}"]`)?.remove();
      $("avatar-pick").value = "mona-lisa";
      status("Consent revoked; the portrait and its recordings were deleted.", "ok");
      showRevoke();
      window.companionRestart();
    } catch (err) { status(err.message, "bad"); }
  };
  $("avatar-pick").addEventListener("change", showRevoke);
  $("avatar-pick").addEventListener("listed", showRevoke);
})();
