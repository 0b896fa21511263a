// "Drive with my camera": webcam frames, downscaled to 320×240 JPEG and sent at most 25 times a
// second (never more than two on their way), make the avatar copy the user's head, face and
// eyes. The frames go to this server only; nothing is recorded unless the user presses "Record
// with my voice": then the server writes the driven avatar with the microphone's audio (which,
// while the camera drives, is the avatar's voice, not a turn in the conversation) and offers the
// file for download until the page is left. The avatar is drawn as each driven frame arrives
// (app.js), and the camera stops cleanly when the user or the browser stops it.
"use strict";
(() => {
  const CAMERA = 4, W = 320, H = 240, EVERY_MS = 40, QUALITY = 0.7;
  const $ = (id) => document.getElementById(id);
  const stats = window.__companion;
  Object.assign(stats, { cameraOn: false, cameraSent: 0, cameraState: "off", drivenFps: [],
                         recording: "off", recordingUrl: null });
  const grab = document.createElement("canvas");
  grab.width = W; grab.height = H;
  const gx = grab.getContext("2d");
  let stream = null, timer = null, meter = null, inflight = 0, video = null, drawnBefore = 0;
  const SAY = { calibrating: "Look at the camera with a relaxed face…", driving: "The avatar follows your face.",
                no_face: "No face in view: the avatar waits.", off: "" };

  const RECORDING = { on: "Recording: your voice and the avatar's face go into the file.",
                      saving: "Saving the video (watermarking and signing it)…", off: "" };
  const withToken = (url) => {
    const token = new URLSearchParams(location.search).get("token");
    return token ? url + "?token=" + encodeURIComponent(token) : url;
  };

  function show(on) {
    $("camera").setAttribute("aria-pressed", String(on));
    $("camera").textContent = on ? "Stop the camera" : "Drive with my camera";
    $("puppet-record").hidden = !on;
    if (!on) showRecording("off");
  }

  function showRecording(state) {
    const on = state === "on";
    $("puppet-record").setAttribute("aria-pressed", String(on));
    $("puppet-record").textContent = on ? "Stop recording" : "Record with my voice";
    if (state in RECORDING && (state !== "off" || stats.recording !== "saving")) {
      $("puppet-record-state").textContent = RECORDING[state];
    }
  }

  function onRecording(m) {
    stats.recording = m.state;
    if (m.state === "ready") {
      const link = $("puppet-record-file");
      link.href = withToken(m.url);
      link.textContent = `Download the recording (${Math.round(m.seconds)} s)`;
      link.hidden = false;
      stats.recordingUrl = link.href;
      $("puppet-record-state").textContent = "";
    } else if (m.state === "failed") {
      $("puppet-record-state").textContent = "";
      window.companionShowError("The recording could not be saved: " + m.message);
    } else {
      if (m.state === "on") $("puppet-record-file").hidden = true;
      showRecording(m.state);
    }
  }

  async function start() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: W, height: H, frameRate: 25 } });
    } catch (e) {
      window.companionShowError("Camera unavailable (" + e.message + ").");
      return;
    }
    video = $("camera-preview");
    video.srcObject = stream;
    await video.play().catch(() => {});
    for (const t of stream.getVideoTracks()) t.onended = stop;  // unplugged, or permission withdrawn
    window.companionSend({ type: "camera", on: true });
    stats.cameraOn = true; show(true);
    timer = setInterval(sendFrame, EVERY_MS);
    drawnBefore = stats.drivenDrawn;
    meter = setInterval(() => {
      stats.drivenFps.push(stats.drivenDrawn - drawnBefore);
      drawnBefore = stats.drivenDrawn;
    }, 1000);
  }

  function sendFrame() {
    const ws = window.companionSocket();
    // a slow link: skip frames rather than queue them (a queued pose is a late pose)
    if (!ws || ws.readyState !== 1 || inflight > 1 || ws.bufferedAmount > 65536) return;
    if (!video || video.readyState < 2) return;
    gx.drawImage(video, 0, 0, W, H);
    const t = performance.now();
    inflight++;
    grab.toBlob((blob) => {
      if (!blob) { inflight--; return; }
      blob.arrayBuffer().then((jpg) => {
        inflight--;
        if (!stats.cameraOn || ws.readyState !== 1) return;
        const msg = new Uint8Array(9 + jpg.byteLength);
        msg[0] = CAMERA;
        new DataView(msg.buffer).setFloat64(1, t, true);
        msg.set(new Uint8Array(jpg), 9);
        ws.send(msg.buffer);
        stats.cameraSent++;
      });
    }, "image/jpeg", QUALITY);
  }

  function stop() {
    clearInterval(timer); clearInterval(meter); timer = meter = null;
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    if (video) video.srcObject = null;
    if (stats.cameraOn) window.companionSend({ type: "camera", on: false });
    stats.cameraOn = false; show(false);
  }

  $("camera").onclick = () => (stats.cameraOn ? stop() : start());
  $("puppet-record").onclick = () => {
    if (stats.recording === "saving") return;
    window.companionSend({ type: "record", on: stats.recording !== "on" });
  };
  // the camera drives a conversation only: not the aid, not a practice
  $("mode-pick").addEventListener("change", () => {
    const conversation = $("mode-pick").value === "companion";
    if (!conversation) stop();
    $("camera-row").hidden = !conversation;
  });
  const prior = window.onCompanionEvent;
  window.onCompanionEvent = (m) => {
    if (prior) prior(m);
    if (m.type === "camera") { stats.cameraState = m.state; $("camera-state").textContent = SAY[m.state] || ""; }
    if (m.type === "recording") onRecording(m);
    if (m.type === "ready" && stats.cameraOn) window.companionSend({ type: "camera", on: true });  // a reconnect
  };
  window.companionCamera = { start, stop };
})();
