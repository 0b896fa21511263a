// companion web page: avatar frames and voice from the server, microphone to the server.
// Video is timed against the audio clock: every frame and audio chunk carries its stream time
// (pts); audio is scheduled at t0 + pts on the AudioContext and a frame is drawn once the audio
// clock reaches its pts.
"use strict";

const PROTOCOL = 1, MIC = 1, VIDEO = 2, AUDIO = 3, DRIVEN = 5;
const $ = (id) => document.getElementById(id);
const canvas = $("avatar"), g = canvas.getContext("2d");
const stats = window.__companion = {
  connected: false, framesDrawn: 0, framesReceived: 0, fps: 0, transcripts: [], captions: [],
  states: [], errors: [], latency: [], interrupted: 0, micStarted: false,
  // measured here, on the audio clock: end of the user's speech (mic level) → when the avatar's
  // first voiced audio plays; and frames drawn per second while the avatar speaks
  heardLatency: [], fpsSpeaking: [],
  // the same latency split: end of speech → the first voiced audio's arrival, and arrival →
  // the time it is scheduled to play (the stream's buffer)
  heardArrival: [], heardLead: [],
  // barge-in, on the same clock: when the user's speech began (mic level), when the server's
  // interruption arrived, and the avatar's voiced audio as [start, end, stopped] spans
  speechStarts: [], interruptedAt: [], voice: [],
  // the camera driving the avatar (camera.js): frames drawn, and for each camera frame the
  // milliseconds from its capture to the first drawn frame that shows its pose
  drivenDrawn: 0, cameraDelay: [],
};
let speechEnd = null, lastVoice = null;  // AudioContext seconds
let lastTag = null;  // the camera frame the last driven frame showed
let speakingSince = Infinity;  // performance.now() when the avatar began to speak
let dropBefore = null;  // stream seconds: the avatar's audio before this was interrupted

let ws = null, ctx = null, t0 = null, sampleRate = 22050, name = "Companion";
let frames = [], sources = [], retry = 0, handsfree = true, micNode = null, stopped = false;
const token = new URLSearchParams(location.search).get("token");

function audioCtx() {
  if (!ctx) ctx = new AudioContext({ latencyHint: "interactive" });
  return ctx;
}

// The clock: the audio context's, or wall time while audio is not allowed to play yet.
let wallStart = performance.now() / 1000;
function clock() {
  const c = audioCtx();
  return c.state === "running" ? c.currentTime : performance.now() / 1000 - wallStart;
}

function showError(msg) {
  $("error").textContent = msg;
  stats.errors.push(msg);
}

function setState(s) {
  const el = $("state");
  el.className = "state " + s;
  const aid = window.companionNoMic && window.companionNoMic();  // the aid listens to no one
  el.textContent = { listening: aid ? "Ready" : "Listening", thinking: "Thinking…",
                     speaking: "Speaking", idle: "Ready" }[s] || s;
  if (s === "speaking" && stats.states[stats.states.length - 1] !== "speaking") speakingSince = performance.now();
  stats.states.push(s);
}

function addCaption(role, text) {
  const li = document.createElement("li");
  li.className = role;
  li.dataset.name = name;
  li.textContent = text;
  $("captions").appendChild(li);
  li.scrollIntoView({ block: "nearest" });
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/ws${token ? "?token=" + encodeURIComponent(token) : ""}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    // practice.js adds the mode, scenario and difficulty when a practice is starting
    const extra = window.companionHello ? window.companionHello() : {};
    ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, avatar: $("avatar-pick").value || "mona-lisa",
                             persona: $("persona-pick").value || "companion", ...extra }));
  };
  ws.onmessage = (ev) => (typeof ev.data === "string" ? onEvent(JSON.parse(ev.data)) : onMedia(ev.data));
  ws.onclose = (ev) => {
    if (ev.target !== ws) return;  // an older socket, replaced by a restart
    stats.connected = false;
    if (ev.code === 1008) { showError("The server refused the connection: " + (ev.reason || "not allowed")); return; }
    // a fatal error (e.g. this portrait's consent was revoked) is not retried: pick another avatar
    if (stopped) { setState("stopped"); return; }
    setState("disconnected");
    const wait = Math.min(10, 1 + retry++) * 1000;
    showError(`Connection lost. Reconnecting in ${wait / 1000} s…`);
    setTimeout(connect, wait);
  };
}

function onEvent(m) {
  switch (m.type) {
    case "ready":
      stats.connected = true; retry = 0; t0 = null; dropBefore = null; frames = [];
      sampleRate = m.sample_rate; name = m.name || name; stats.avatar = m.avatar;
      $("model").textContent = m.llm || "?";
      $("model").title = m.llm_reason || "";
      if (m.llm_reason) $("model-why").textContent = ` (${m.llm_reason})`;
      $("error").textContent = "";
      if (!window.companionNoMic || !window.companionNoMic()) startMic();  // the aid listens to no one
      break;
    case "state": setState(m.state); break;
    case "transcript":
      stats.transcripts.push(m.text);
      if (m.role !== "self") addCaption("user", m.text);  // the aid's words show as they are said
      break;
    case "caption": stats.captions.push(m.text); addCaption("assistant", m.text); break;
    case "latency":
      stats.latency.push(m);
      $("latency").textContent = `reply after ${(m.first_audio ?? 0).toFixed(2)} s ` +
        `(recognition ${(m.stt_done ?? 0).toFixed(2)} s, first word ${(m.llm_first_token ?? 0).toFixed(2)} s)`;
      break;
    case "interrupted":
      stats.interrupted++;
      // drop what is scheduled but not yet heard
      const now = audioCtx().currentTime;
      stats.interruptedAt.push(now);
      if (typeof m.at === "number") dropBefore = m.at;
      sources = sources.filter((s) => {
        if (s.when > now) { try { s.node.stop(); } catch (e) {} s.span[2] = true; return false; }
        return true;
      });
      break;
    case "disclosure": $("disclosure").textContent = m.text; break;
    case "error": showError(m.message); if (m.fatal) stopped = true; break;
  }
  // practice, the debrief and the crisis notice (practice.js)
  if (window.onCompanionEvent) window.onCompanionEvent(m);
}

// A small buffer against network jitter (the aid keeps it shorter: it answers a key press).
// It is kept at that size: media that arrives late moves the schedule later at once (else its
// audio would be dropped); media that keeps arriving well ahead of its time (the stream's first
// message came late, a busy moment has passed) moves it earlier, but only while no voice is
// scheduled, so nothing already playing is cut or overlapped.
const buffer = () => (window.companionBuffer ? window.companionBuffer() : 0.15);
let minLead = Infinity, leadSince = 0;
function keepBuffer(pts) {
  const now = clock(), lead = t0 + pts - now;
  if (lead < 0) { t0 += buffer() - lead; minLead = Infinity; leadSince = now; return; }
  minLead = Math.min(minLead, lead);
  if (now - leadSince < 1.0) return;
  stats.lead = minLead;
  const voicePending = sources.some((s) => s.span[1] > now && !s.span[2]);
  if (minLead > buffer() + 0.03 && !voicePending) t0 -= minLead - buffer();
  minLead = Infinity; leadSince = now;
}

function onMedia(buf) {
  const kind = new Uint8Array(buf, 0, 1)[0];
  const pts = new DataView(buf, 1, 8).getFloat64(0, true);
  if (t0 === null) t0 = clock() + buffer() - pts;
  keepBuffer(pts);
  if (kind === DRIVEN) {
    // A pose from the user's camera: drawn as soon as it is decoded, not on the audio clock —
    // nothing is said while the camera drives, and the buffer would only add delay.
    const tag = new DataView(buf, 9, 8).getFloat64(0, true);
    stats.framesReceived++;
    createImageBitmap(new Blob([new Uint8Array(buf, 17)], { type: "image/jpeg" })).then((bmp) => {
      for (const f of frames) f.bmp.close();
      frames = [];
      g.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
      stats.framesDrawn++; stats.drivenDrawn++; fpsCount++;
      if (tag !== lastTag) { lastTag = tag; stats.cameraDelay.push(performance.now() - tag); }
      if (stats.cameraDelay.length > 2000) stats.cameraDelay = stats.cameraDelay.slice(-1000);
    });
  } else if (kind === VIDEO) {
    stats.framesReceived++;
    createImageBitmap(new Blob([new Uint8Array(buf, 9)], { type: "image/jpeg" }))
      .then((bmp) => frames.push({ pts, bmp }));
  } else if (kind === AUDIO) {
    const n = (buf.byteLength - 9) / 2;
    if (n <= 0) return;
    if (dropBefore !== null && pts < dropBefore) return;  // rendered before an interruption
    const pcm = new Int16Array(buf.slice(9));
    let silent = true;
    for (let i = 0; i < n; i += 64) if (pcm[i] !== 0) { silent = false; break; }
    if (silent) return;
    const c = audioCtx();
    const ab = c.createBuffer(1, n, sampleRate);
    const ch = ab.getChannelData(0);
    for (let i = 0; i < n; i++) ch[i] = pcm[i] / 32768;
    const node = c.createBufferSource();
    node.buffer = ab;
    node.connect(c.destination);
    const when = t0 + pts;
    if (window.__companionCapture) window.__companionCapture.push({ pts, pcm });  // tests read it
    if (window.onVoiceScheduled) window.onVoiceScheduled(when);
    if (speechEnd !== null) {
      stats.heardLatency.push(Math.max(0, when - speechEnd));
      stats.heardArrival.push(c.currentTime - speechEnd);
      stats.heardLead.push(when - c.currentTime);
      speechEnd = null;
    }
    if (c.state === "running" && when > c.currentTime) {
      node.start(when);
      const span = [when, when + n / sampleRate, false];
      stats.voice.push(span);
      if (stats.voice.length > 2000) stats.voice = stats.voice.slice(-1000);
      sources.push({ node, when, span });
      if (sources.length > 400) sources = sources.slice(-200);
    }
  }
}

// Draw the newest frame whose time has come; count what was shown for the fps read-out.
let fpsCount = 0, fpsSince = performance.now();
function draw() {
  if (t0 !== null && frames.length) {
    const now = clock() - t0;
    let pick = null;
    while (frames.length && frames[0].pts <= now) {
      if (pick) pick.bmp.close();
      pick = frames.shift();
    }
    if (pick) {
      g.drawImage(pick.bmp, 0, 0, canvas.width, canvas.height);
      pick.bmp.close();
      stats.framesDrawn++; fpsCount++;
    }
  }
  const ms = performance.now() - fpsSince;
  if (ms >= 1000) {
    stats.fps = (fpsCount * 1000) / ms;
    // only whole seconds of speech: the second it began in also holds thinking, which is
    // drawn at half the rate (and the frames shown lag the state by the 150 ms buffer)
    if (stats.states[stats.states.length - 1] === "speaking" && speakingSince + 300 <= fpsSince)
      stats.fpsSpeaking.push(stats.fps);
    fpsCount = 0; fpsSince = performance.now();
  }
  requestAnimationFrame(draw);
}

// The user's speech ends where the mic level drops and stays low for 300 ms.
function trackSpeech(x, now) {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i] * x[i];
  if (Math.sqrt(e / x.length) > 0.02) {
    if (lastVoice === null) stats.speechStarts.push(now);
    lastVoice = now;
    return;
  }
  if (lastVoice !== null && now - lastVoice > 0.3) { speechEnd = lastVoice; lastVoice = null; }
}

async function startMic() {
  if (micNode) return;
  try {
    const c = audioCtx();
    if (c.state !== "running") await c.resume().catch(() => {});
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
    await c.audioWorklet.addModule("/static/mic-worklet.js");
    const src = c.createMediaStreamSource(stream);
    micNode = new AudioWorkletNode(c, "mic-capture");
    const ratio = c.sampleRate / 16000;
    let pending = [], carry = 0;
    micNode.port.onmessage = (ev) => {
      const x = ev.data;
      trackSpeech(x, c.currentTime);
      // resample to 16 kHz by linear interpolation
      for (let t = carry; t < x.length - 1; t += ratio) {
        const i = Math.floor(t), f = t - i;
        pending.push(x[i] * (1 - f) + x[i + 1] * f);
      }
      carry = ((carry - x.length) % ratio + ratio) % ratio;
      if (pending.length >= 512 && ws && ws.readyState === 1) {
        const out = new Int16Array(pending.length);
        for (let i = 0; i < pending.length; i++) out[i] = Math.max(-1, Math.min(1, pending[i])) * 32767;
        const msg = new Uint8Array(1 + out.byteLength);
        msg[0] = MIC; msg.set(new Uint8Array(out.buffer), 1);
        ws.send(msg.buffer);
        pending = [];
      }
    };
    src.connect(micNode);
    stats.micStarted = true;
    $("mic").textContent = "Microphone on"; $("mic").setAttribute("aria-pressed", "true");
  } catch (e) {
    micNode = null;
    showError("Microphone unavailable (" + e.message + "). You can type instead.");
  }
}

function send(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }
// The server frees the slot of a client that says nothing for 90 s; a page that is open but
// quiet (nobody speaking, someone composing in the aid) says it is still here.
setInterval(() => send({ type: "ping", t: performance.now() / 1000 }), 20000);

$("mic").onclick = () => { audioCtx().resume(); startMic(); };
$("handsfree").onchange = (e) => {
  handsfree = e.target.checked;
  $("ptt").disabled = handsfree;
  send({ type: "mode", handsfree });
};
const ptt = (down) => { if (!handsfree) send({ type: "ptt", down }); };
$("ptt").onmousedown = () => ptt(true); $("ptt").onmouseup = () => ptt(false);
document.addEventListener("keydown", (e) => { if (e.code === "Space" && !handsfree && document.activeElement !== $("text") && !e.repeat) { e.preventDefault(); ptt(true); } });
document.addEventListener("keyup", (e) => { if (e.code === "Space" && !handsfree && document.activeElement !== $("text")) { e.preventDefault(); ptt(false); } });
$("say").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (text) { audioCtx().resume(); send({ type: "text", text }); $("text").value = ""; }
};
// Switch avatar or persona: a new conversation (reconnect at once if the last one has stopped).
function restart() {
  stopped = false;
  if (ws && ws.readyState <= 1) ws.close(1000); else connect();
}
window.companionRestart = restart;
window.companionSend = send;
window.companionSocket = () => ws;  // camera.js sends its binary frames on it
window.companionShowError = showError;
// practice.js holds the connection back until the user has read the briefing
window.companionConnect = () => { stopped = false; if (ws && ws.readyState <= 1) ws.close(1000); else connect(); };
// ...and ends a running conversation while the briefing is read (no reconnecting)
window.companionDisconnect = () => { stopped = true; if (ws && ws.readyState <= 1) ws.close(1000); };
for (const id of ["avatar-pick", "persona-pick"]) $(id).onchange = restart;

fetch("/api/info" + (token ? "?token=" + encodeURIComponent(token) : "")).then((r) => r.json()).then((info) => {
  for (const [id, items] of [["avatar-pick", info.avatars], ["persona-pick", info.personas]]) {
    for (const v of items) { const o = document.createElement("option"); o.value = o.textContent = v; $(id).appendChild(o); }
  }
  for (const p of info.portraits || []) {
    const o = document.createElement("option"); o.value = p.consent_id; o.textContent = `${p.subject} (yours)`;
    $("avatar-pick").appendChild(o);
  }
  $("avatar-pick").value = info.avatars.includes("mona-lisa") ? "mona-lisa" : info.avatars[0];
  $("avatar-pick").dispatchEvent(new Event("listed"));
  $("persona-pick").value = "companion";
  window.companionInfo = info;
  if (window.onCompanionInfo) window.onCompanionInfo(info);
  if (!window.companionHoldConnect || !window.companionHoldConnect()) connect();
}).catch(() => showError("Cannot reach the companion server."));
requestAnimationFrame(draw);
// For the communication aid (aac.js): the audio clock its latency read-out uses, and audio
// allowed to play on the key press that asks for speech.
window.companionClock = clock;
window.companionResumeAudio = () => { const c = audioCtx(); if (c.state !== "running") c.resume(); };
// Tests read back the voice the page played (set window.__companionCapture = [] first): base64
// PCM16 at the stream's sample rate, with the pauses between utterances (up to half a second
// each: a recogniser hears utterances butted together as one, and drops the last short word).
window.__companionAudio = () => {
  const parts = window.__companionCapture || [], most = Math.round(0.5 * sampleRate);
  const gaps = parts.map((p, i) => i === 0 ? 0 : Math.min(most, Math.max(0, Math.round(
    (p.pts - parts[i - 1].pts) * sampleRate) - parts[i - 1].pcm.length)));
  const n = parts.reduce((a, p, i) => a + gaps[i] + p.pcm.length, 0);
  const all = new Int16Array(n); let at = 0;
  parts.forEach((p, i) => { at += gaps[i]; all.set(p.pcm, at); at += p.pcm.length; });
  const bytes = new Uint8Array(all.buffer); let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return { sampleRate, pcm: btoa(s) };
};
