// page.js runs inside headless Chromium: one RTCPeerConnection with the fake
// camera and microphone, playing either side of a UHI video call. It knows
// nothing of UHI: the Node script around it (patient.mjs or doctor.mjs)
// carries the signals, calling window.rtc.* with page.evaluate and hearing
// back through window.toNode (page.exposeFunction).
'use strict';

window.rtc = (() => {
  let pc = null;
  let config = { iceServers: [] }; // the RTCConfiguration (configure)
  let local = null;
  let remoteSet = false;
  let held = []; // remote candidates that came before the remote description
  let firstFrameSent = false;
  let remoteStreamOf = {}; // track kind -> id of its event.streams[0] ('' for none)
  let syncOn = false; // lip sync measured (measureSync)
  let remoteMeter = null; // the sync meter on the remote element
  let localMeter = null; // and on the camera's own preview
  let spectrum = null; // an AnalyserNode on the remote audio track
  const report = (msg) => window.toNode(JSON.stringify(msg));
  const now = () => performance.timeOrigin + performance.now();

  // The sync mark (call/syncmark.go): every 2 s the far side's picture is
  // one white frame and its sound a short loud burst, at the same capture
  // instant. syncMeter finds both where this page presents them: the flash
  // in each frame the element presents (requestVideoFrameCallback, drawn
  // small into a canvas; the frame's expected display time), the burst by
  // its onset of energy in an AudioWorklet fed with the same stream, its
  // sample's context time put on the page's clock with getOutputTimestamp
  // (which includes the output latency). Marks less than 1 s apart are
  // paired and reported: offset = audio minus video, ms (positive: the
  // sound is late). The detector is the console's (clickDetector).
  const onsetWorklet = `
    class Onset extends AudioWorkletProcessor {
      constructor() {
        super();
        this.bs = Math.round(sampleRate / 1000); // 1 ms blocks
        this.hist = new Float64Array(100); // the last 100 ms
        this.next = 0; this.filled = 0; this.sum = 0; this.len = 0; this.since = 0;
      }
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (!ch) return true;
        for (let i = 0; i < ch.length; i++) {
          this.sum += ch[i] * ch[i];
          this.len++;
          this.since++;
          if (this.len < this.bs) continue;
          const ms = this.sum / this.bs;
          this.sum = 0; this.len = 0;
          if (this.filled === this.hist.length && this.since > sampleRate) {
            let base = 0;
            for (const v of this.hist) base += v;
            base /= this.hist.length;
            const rms = Math.sqrt(ms);
            if (rms > 0.05 && rms > 3 * Math.sqrt(base)) {
              this.port.postMessage({ time: (currentFrame + i - this.bs + 1) / sampleRate, rms, base: Math.sqrt(base) });
              this.since = this.bs;
            }
          }
          this.hist[this.next] = ms;
          this.next = (this.next + 1) % this.hist.length;
          this.filled = Math.min(this.filled + 1, this.hist.length);
        }
        return true;
      }
    }
    registerProcessor('onset', Onset);`;

  function syncMeter(el, stream, which) {
    let stopped = false;
    let video = 0; // the latest unpaired mark of each, page clock (Unix ms)
    let audio = 0;
    let marks = 0;
    const mark = (isVideo, at) => {
      const other = isVideo ? audio : video;
      if (other && Math.abs(at - other) < 1000) {
        const v = isVideo ? at : other;
        const a = isVideo ? other : at;
        video = 0; audio = 0;
        marks++;
        const offset = a - v;
        const text = `audio-video offset ${offset.toFixed(1)} ms, video at ${v.toFixed(1)}`;
        if (which !== 'remote' || !pc) {
          report({ kind: 'sync', type: which, offset, video: v, audio: a, mark: marks, text });
          return;
        }
        // With what the receiver knew of the mark (and the meter's own
        // latency as its AudioContext gives it now: read once at the start,
        // its output latency was sometimes still 0): the flash frame's RTP
        // timestamp and the capture time libwebrtc gave it (from the
        // sender's reports), the sound's capture time as the receiver
        // estimated it while playing the click (estimatedPlayoutTimestamp),
        // and the jitter buffers since the last mark. Both sides of these
        // calls run on one machine, so the capture times can be set against
        // the marks' true instants.
        const f = flashMeta;
        Promise.all([buffers(pc), clickStats]).then(([b, s]) => report({ kind: 'sync', type: which, offset, video: v, audio: a, mark: marks, ...b,
          text: `${text}, jitter buffers: video ${b.videoBufferMs.toFixed(1)} ms, audio ${b.audioBufferMs.toFixed(1)} ms, ` +
            `targets: video ${b.videoTargetMs.toFixed(1)} ms, audio ${b.audioTargetMs.toFixed(1)} ms; ` +
            `flash rtp ${f.rtp} capture ${f.capture.toFixed(1)} receive ${f.receive.toFixed(1)} presented ${f.presented.toFixed(1)}; ` +
            `click playout-ntp ${s.playout.toFixed(1)} at ${s.at.toFixed(1)}; ` +
            `meter latency ${((ctx.baseLatency + (ctx.outputLatency || 0)) * 1000).toFixed(1)} ms` }));
      } else if (isVideo) {
        video = at;
      } else {
        audio = at;
      }
    };

    let last = {};
    const buffers = async (conn) => {
      const out = { videoBufferMs: 0, audioBufferMs: 0, videoTargetMs: 0, audioTargetMs: 0 };
      try {
        for (const r of (await conn.getStats()).values()) {
          if (r.type !== 'inbound-rtp' || !r.jitterBufferEmittedCount) continue;
          const prev = last[r.kind] || { delay: 0, target: 0, count: 0 };
          const n = r.jitterBufferEmittedCount - prev.count;
          if (n > 0) {
            out[r.kind + 'BufferMs'] = ((r.jitterBufferDelay - prev.delay) / n) * 1000;
            out[r.kind + 'TargetMs'] = (((r.jitterBufferTargetDelay || 0) - prev.target) / n) * 1000;
          }
          last[r.kind] = { delay: r.jitterBufferDelay, target: r.jitterBufferTargetDelay || 0, count: r.jitterBufferEmittedCount };
        }
      } catch { /* the call is ending */ }
      return out;
    };
    // flashMeta: the presented flash frame's metadata (page clock, Unix ms;
    // 0 where Chromium gives none). clickStats: the audio receiver's
    // estimatedPlayoutTimestamp (NTP ms) read as the click was found, and
    // when it was read.
    let flashMeta = { rtp: 0, capture: 0, receive: 0, presented: 0 };
    let clickStats = Promise.resolve({ playout: 0, at: 0 });
    const readPlayout = async () => {
      const out = { playout: 0, at: now() };
      if (which !== 'remote' || !pc) return out;
      try {
        for (const r of (await pc.getStats()).values()) {
          if (r.type === 'inbound-rtp' && r.kind === 'audio') out.playout = r.estimatedPlayoutTimestamp || 0;
        }
      } catch { /* the call is ending */ }
      return out;
    };

    const canvas = document.createElement('canvas');
    canvas.width = 16;
    canvas.height = 12;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    let lit = false;
    const onFrame = (_, md) => {
      if (stopped) return;
      g.drawImage(el, 0, 0, canvas.width, canvas.height);
      const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      // The flash is white (255); the picture's mean is about half that.
      const isLit = sum / (d.length / 4) > 200;
      if (isLit && !lit) {
        const t = (x) => (x ? performance.timeOrigin + x : 0);
        flashMeta = { rtp: md.rtpTimestamp || 0, capture: t(md.captureTime), receive: t(md.receiveTime), presented: t(md.expectedDisplayTime) };
        mark(true, performance.timeOrigin + md.expectedDisplayTime);
      }
      lit = isLit;
      el.requestVideoFrameCallback(onFrame);
    };
    el.requestVideoFrameCallback(onFrame);

    const ctx = new AudioContext({ latencyHint: 'interactive' });
    (async () => {
      const url = URL.createObjectURL(new Blob([onsetWorklet], { type: 'text/javascript' }));
      await ctx.audioWorklet.addModule(url);
      if (stopped) return;
      const src = ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
      const node = new AudioWorkletNode(ctx, 'onset');
      node.port.onmessage = (e) => {
        if (stopped) return;
        const ts = ctx.getOutputTimestamp();
        let at;
        if (ts.contextTime > 0 && ts.performanceTime > 0) {
          at = performance.timeOrigin + ts.performanceTime + (e.data.time - ts.contextTime) * 1000;
        } else {
          // No output clock: the rendering time plus the stated latency.
          at = now() + (e.data.time - ctx.currentTime + ctx.baseLatency + (ctx.outputLatency || 0)) * 1000;
        }
        clickStats = readPlayout();
        mark(false, at);
      };
      src.connect(node);
      node.connect(ctx.destination); // it outputs silence; connected so it is pulled
      await ctx.resume();
      const ts = ctx.getOutputTimestamp();
      report({ kind: 'log', text: `sync meter (${which}): ${ctx.sampleRate} Hz, base latency ${(ctx.baseLatency * 1000).toFixed(1)} ms, ` +
        `output latency ${((ctx.outputLatency || 0) * 1000).toFixed(1)} ms, output clock ${ts.contextTime > 0 ? 'yes' : 'no'}` });
    })().catch((err) => report({ kind: 'log', text: 'sync meter: ' + err }));
    return { stop() { stopped = true; ctx.close().catch(() => {}); } };
  }

  // meterRemote starts the meter on the remote element once its stream has
  // both kinds of track (one ontrack event per track).
  function meterRemote(stream) {
    const el = document.getElementById('remote');
    if (!syncOn || remoteMeter || !el || el.srcObject !== stream) return;
    if (!stream.getAudioTracks().length || !stream.getVideoTracks().length) return;
    remoteMeter = syncMeter(el, stream, 'remote');
  }

  // meterLocal measures the camera and microphone's own preview: the skew
  // between a browser's fake camera and fake microphone, which loop their
  // files each on its own, is in everything it sends.
  function meterLocal() {
    if (!syncOn || localMeter || !local) return;
    const el = document.createElement('video');
    el.id = 'local-preview';
    el.muted = true;
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = local;
    document.body.appendChild(el);
    el.play().catch((err) => report({ kind: 'log', text: 'preview: ' + err }));
    localMeter = syncMeter(el, local, 'local');
  }

  // realMic (useRealMicrophone): the sound server's microphone instead of
  // the fake one, with the browser's audio processing on or off, and a
  // canvas for the picture (a machine with a sound server has no camera).
  let realMic = null;

  async function openMedia() {
    if (local) return local;
    if (realMic) {
      const on = realMic.processing;
      const mic = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: on, noiseSuppression: on, autoGainControl: on },
      });
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const g = canvas.getContext('2d');
      let n = 0;
      setInterval(() => { g.fillStyle = `hsl(${(n++ * 7) % 360},60%,50%)`; g.fillRect(0, 0, 640, 480); }, 33);
      local = new MediaStream([...canvas.captureStream(30).getVideoTracks(), ...mic.getAudioTracks()]);
      return local;
    }
    local = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480, frameRate: 30 },
      audio: true,
    });
    return local;
  }

  // listen puts a spectrum analyser on the remote audio, so that stats can
  // say the frequency the far side's sound is strongest at (audioPeakHz),
  // and a worklet that sums its squares (audioSumSq over audioCount
  // samples: the power of what is heard, which getStats' totalAudioEnergy,
  // built from peak levels, only approximates).
  const powerWorklet = `
    class Power extends AudioWorkletProcessor {
      constructor() { super(); this.sq = 0; this.n = 0; }
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (!ch) return true;
        for (let i = 0; i < ch.length; i++) this.sq += ch[i] * ch[i];
        this.n += ch.length;
        if (this.n >= sampleRate / 50) {
          this.port.postMessage({ sq: this.sq, n: this.n });
          this.sq = 0; this.n = 0;
        }
        return true;
      }
    }
    registerProcessor('power', Power);`;
  // loudAt: the page's clock (Unix ms) at the last 20 ms heard above -40 dBFS.
  const heard = { sq: 0, n: 0, loudAt: 0 };

  async function listen(track) {
    const ctx = new AudioContext();
    spectrum = ctx.createAnalyser();
    spectrum.fftSize = 8192; // 5.9 Hz bins at 48 kHz
    spectrum.smoothingTimeConstant = 0.5;
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    src.connect(spectrum);
    const url = URL.createObjectURL(new Blob([powerWorklet], { type: 'application/javascript' }));
    await ctx.audioWorklet.addModule(url);
    const power = new AudioWorkletNode(ctx, 'power');
    power.port.onmessage = (m) => {
      heard.sq += m.data.sq; heard.n += m.data.n;
      if (m.data.sq / m.data.n > 1e-4) heard.loudAt = now();
    };
    src.connect(power);
  }

  function peakHz() {
    if (!spectrum) return 0;
    const bins = new Float32Array(spectrum.frequencyBinCount);
    spectrum.getFloatFrequencyData(bins);
    let best = 1;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    return bins[best] > -100 ? best * spectrum.context.sampleRate / spectrum.fftSize : 0;
  }

  function newPeer() {
    pc = new RTCPeerConnection(config);
    remoteSet = false;
    held = [];
    firstFrameSent = false;
    remoteStreamOf = {};
    if (remoteMeter) remoteMeter.stop();
    remoteMeter = null;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return; // no end-of-candidates marker (docs/protocol.md §3)
      report({ kind: 'candidate', candidate: {
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      } });
    };
    pc.onconnectionstatechange = () => report({ kind: 'state', state: pc.connectionState, at: now() });
    pc.ontrack = (e) => {
      // As the patients' app does with flutter-webrtc's renderer, the remote
      // side plays through ONE media element, fed with the video track's
      // event.streams[0]: an audio track the sender put in another stream
      // (or in none) is not in it, and Chromium neither plays nor measures
      // remote audio that has no sink. So a sender whose audio and video are
      // not one stream is seen and not heard.
      remoteStreamOf[e.track.kind] = e.streams.length ? e.streams[0].id : '';
      if (e.track.kind === 'audio') listen(e.track).catch((err) => report({ kind: 'log', text: 'listen: ' + err }));
      if (e.track.kind === 'video' && e.streams[0]) {
        let el = document.getElementById('remote');
        if (!el) {
          el = document.createElement('video');
          el.id = 'remote';
          el.autoplay = true;
          el.playsInline = true;
          document.body.appendChild(el);
        }
        el.srcObject = e.streams[0];
        el.play().catch((err) => report({ kind: 'log', text: 'play: ' + err }));
      }
      if (e.streams[0]) {
        const stream = e.streams[0];
        meterRemote(stream);
        stream.addEventListener('addtrack', () => meterRemote(stream));
      }
      report({ kind: 'track', track: e.track.kind, streams: e.streams.length, stream: remoteStreamOf[e.track.kind] });
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

    // configure sets the ICE servers and transport policy of the calls
    // from now on.
    configure(c) { config = c; return true; },
    // useRealMicrophone: see realMic; before the first call.
    useRealMicrophone(processing) {
      realMic = { processing };
      return true;
    },

    // measureSync turns the lip-sync meters on: the remote element's in
    // every call from now on, and the camera preview's.
    async measureSync() {
      syncOn = true;
      await openMedia();
      meterLocal();
      return true;
    },

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
      if (remoteMeter) remoteMeter.stop();
      remoteMeter = null;
      for (const el of document.querySelectorAll('video,audio')) if (el.id !== 'local-preview') el.remove();
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
      // What the one remote element plays, and the streams the tracks came in.
      const el = document.getElementById('remote');
      const playing = el && el.srcObject ? el.srcObject.getTracks() : [];
      Object.assign(out, {
        elements: document.querySelectorAll('video:not(#local-preview),audio').length,
        playingAudio: playing.filter((t) => t.kind === 'audio').length,
        playingVideo: playing.filter((t) => t.kind === 'video').length,
        audioStream: remoteStreamOf.audio || '',
        videoStream: remoteStreamOf.video || '',
      });
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
            audioDuration: r.totalSamplesDuration || 0, audioPeakHz: peakHz(),
            audioSumSq: heard.sq, audioCount: heard.n, audioLoudAt: heard.loudAt,
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
