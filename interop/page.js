// page.js runs inside headless Chromium: one RTCPeerConnection with the fake
// camera and microphone, playing either side of a UHI video call. It knows
// nothing of UHI: the Node script around it (patient.mjs or doctor.mjs)
// carries the signals, calling window.rtc.* with page.evaluate and hearing
// back through window.toNode (page.exposeFunction).
'use strict';

window.rtc = (() => {
  let pc = null;
  let local = null;
  let remoteSet = false;
  let held = []; // remote candidates that came before the remote description
  let firstFrameSent = false;
  const report = (msg) => window.toNode(JSON.stringify(msg));
  const now = () => performance.timeOrigin + performance.now();

  async function openMedia() {
    if (local) return local;
    local = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480, frameRate: 30 },
      audio: true,
    });
    return local;
  }

  function newPeer() {
    pc = new RTCPeerConnection({ iceServers: [] });
    remoteSet = false;
    held = [];
    firstFrameSent = false;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return; // no end-of-candidates marker (contract §3)
      report({ kind: 'candidate', candidate: {
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      } });
    };
    pc.onconnectionstatechange = () => report({ kind: 'state', state: pc.connectionState, at: now() });
    pc.ontrack = (e) => {
      // The patient's or doctor's app shows the video and plays the sound:
      // Chromium only plays out (and measures) remote audio that has a sink.
      const stream = e.streams[0] || new MediaStream([e.track]);
      const id = 'remote-' + e.track.kind;
      let el = document.getElementById(id);
      if (!el) {
        el = document.createElement(e.track.kind === 'video' ? 'video' : 'audio');
        el.id = id;
        el.autoplay = true;
        el.playsInline = true;
        if (e.track.kind === 'video') el.muted = true;
        document.body.appendChild(el);
      }
      el.srcObject = stream;
      el.play().catch((err) => report({ kind: 'log', text: 'play ' + e.track.kind + ': ' + err }));
      report({ kind: 'track', track: e.track.kind });
      if (e.track.kind === 'video') watchFirstFrame(pc);
    };
    return pc;
  }

  // watchFirstFrame reports when the first remote video frame is decoded,
  // polling getStats every 5 ms: the end of the call-setup measurement.
  async function watchFirstFrame(mine) {
    while (pc === mine && !firstFrameSent) {
      const s = await mine.getStats();
      for (const r of s.values()) {
        if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0 && !firstFrameSent) {
          firstFrameSent = true;
          report({ kind: 'firstFrame', at: now() });
        }
      }
      await new Promise((res) => setTimeout(res, 5));
    }
  }

  async function applyHeld() {
    remoteSet = true;
    const list = held;
    held = [];
    for (const c of list) await addCandidate(c);
  }

  async function addCandidate(c) {
    if (!pc || !remoteSet) {
      held.push(c);
      return;
    }
    try {
      await pc.addIceCandidate(c);
    } catch (err) {
      report({ kind: 'log', text: 'addIceCandidate: ' + err });
    }
  }

  return {
    openMedia: async () => { await openMedia(); return true; },

    // call (doctor): opens the camera and microphone, returns the OFFER's SDP.
    async call() {
      await openMedia();
      newPeer();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return pc.localDescription.sdp;
    },

    async accept(sdp) {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await applyHeld();
      return true;
    },

    // answer (patient): takes the OFFER's SDP, returns the ANSWER's.
    async answer(sdp) {
      await openMedia();
      newPeer();
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await applyHeld();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      return pc.localDescription.sdp;
    },

    addCandidate: async (c) => { await addCandidate(c); return true; },

    hangup() {
      if (pc) pc.close();
      pc = null;
      for (const el of document.querySelectorAll('video,audio')) el.remove();
      return true;
    },

    // stats: what the test asserts on, from getStats.
    async stats() {
      const out = { state: pc ? pc.connectionState : 'none' };
      const cam = local && local.getVideoTracks()[0];
      if (cam) {
        // What the camera gives (a fake camera playing a file has its size).
        const c = cam.getSettings();
        Object.assign(out, { cameraWidth: c.width || 0, cameraHeight: c.height || 0 });
      }
      if (!pc) return out;
      const s = await pc.getStats();
      const byId = new Map([...s.values()].map((r) => [r.id, r]));
      for (const r of s.values()) {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          Object.assign(out, {
            videoPacketsIn: r.packetsReceived, framesDecoded: r.framesDecoded || 0,
            fpsIn: r.framesPerSecond || 0, widthIn: r.frameWidth || 0, heightIn: r.frameHeight || 0,
            videoCodecIn: (byId.get(r.codecId) || {}).mimeType || '',
          });
        } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          Object.assign(out, {
            audioPacketsIn: r.packetsReceived, audioEnergy: r.totalAudioEnergy || 0,
            audioLevel: r.audioLevel || 0, audioSamples: r.totalSamplesReceived || 0,
            audioCodecIn: (byId.get(r.codecId) || {}).mimeType || '',
          });
        } else if (r.type === 'outbound-rtp' && r.kind === 'video') {
          Object.assign(out, { framesEncoded: r.framesEncoded || 0, fpsOut: r.framesPerSecond || 0 });
        } else if (r.type === 'transport' && r.selectedCandidatePairId) {
          const pair = byId.get(r.selectedCandidatePairId);
          if (pair) {
            const l = byId.get(pair.localCandidateId) || {};
            const rc = byId.get(pair.remoteCandidateId) || {};
            out.path = `${l.candidateType} ${l.address}:${l.port} -> ${rc.candidateType} ${rc.address}:${rc.port}`;
          }
        }
      }
      return out;
    },
  };
})();
