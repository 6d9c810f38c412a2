// doctor.mjs: headless Chromium plays the doctor (the HSPA side) the way the
// reference doctor app does, against any patient (EUA): it serves the
// doctor's on_message endpoint, answers every READY with ACK, calls with an
// OFFER ({"to","from","description","session_id","media":"video"}), trickles
// each candidate --candidate-delay after gathering, and hangs up with BYE
// (docs/protocol.md §3). It is the browser the console is measured against.
//
//   node doctor.mjs [--listen 127.0.0.1:0] [--hpr D] [--name N]
//        [--candidate-delay 1000] [--auto-call MS] [--stats-interval 1000]
//        [--camera-file clip.y4m] [--mic-file sound.wav] [--lip-sync]
//        [--ice-servers URLS] [--turn-user U] [--turn-password P]
//        [--ice-transport-policy all|relay] [--real-mic on|off]
//
// --real-mic records the sound server's default microphone (the
// environment's PulseAudio) instead of the fake one, with the browser's echo
// cancellation, noise suppression and gain control on or off; the picture
// is then a canvas. What the browser plays goes to that server too.
// --auto-call MS calls the first patient MS after their first READY.
// --camera-file and --mic-file make the fake camera and microphone play
// those files (the benchmark gives it the console's own synthetic media).
// --lip-sync measures the patient's sync marks where the page presents them,
// and the doctor's own camera and microphone in their preview (sync events,
// as patient.mjs reports them). Lines on
// stdin are commands: "call" (the last patient heard), "hangup", "quit".
// Events on stdout, one JSON object a line: listening; received and sent
// (with the signal's type); calling (the doctor's action, at = its time);
// track, state, firstFrame, stats, sync, log and error.
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import {
  emit, serve, base, startBrowser, fakeMediaArgs, iceOptions, iceConfig, Envelopes, post, person, statsLoop, onExit, isLoopbackCandidate,
} from './peer.mjs';

const { values: opt } = parseArgs({ options: {
  listen: { type: 'string', default: '127.0.0.1:0' },
  hpr: { type: 'string', default: 'ganeshborse@hpr.ndhm' },
  name: { type: 'string', default: 'Dr Ganesh Borse' },
  'candidate-delay': { type: 'string', default: '1000' },
  'auto-call': { type: 'string', default: '-1' },
  'stats-interval': { type: 'string', default: '1000' },
  'camera-file': { type: 'string', default: '' },
  'mic-file': { type: 'string', default: '' },
  'lip-sync': { type: 'boolean', default: false },
  ...iceOptions,
  'real-mic': { type: 'string', default: '' },
} });
const candidateDelay = Number(opt['candidate-delay']);
const autoCall = Number(opt['auto-call']);

let page;
let self;
const patients = new Map(); // address -> Envelopes addressed to them (from READY)
let last = ''; // the patient heard last
let current = null; // { patient, session, wire } of the call in progress
let autoCalled = false;

const send = async (wire, inner) => {
  try {
    await post(wire.consumerURI, wire.build({ ...inner, sender: opt.hpr }));
    emit('sent', { type: inner.type, ...(inner.type === 'CANDIDATE' ? { candidate: inner.data.candidate.candidate } : {}) });
  } catch (err) {
    emit('error', { text: `${inner.type} not delivered: ${err.message}` });
  }
};

async function call(addr) {
  const wire = patients.get(addr);
  if (!wire || current) {
    emit('error', { text: `cannot call ${addr || 'nobody'}: ${current ? 'already in a call' : 'not in the waiting room'}` });
    return;
  }
  const session = `${opt.hpr}-${addr}`; // docs/protocol.md §3: "<doctor>-<patient>", never split
  current = { patient: addr, session, wire };
  emit('calling', { patient: addr, session });
  const sdp = await page.evaluate(() => window.rtc.call());
  await send(wire, { type: 'OFFER', data: {
    to: addr, from: opt.hpr, description: { sdp, type: 'offer' }, session_id: session, media: 'video',
  } });
}

async function hangup() {
  if (!current) return;
  const { wire, session } = current;
  current = null;
  await page.evaluate(() => window.rtc.hangup());
  await send(wire, { type: 'BYE', data: { session_id: session, from: opt.hpr } });
}

async function onSignal(sig, env) {
  const chat = env.message.intent.chat;
  // Identify the patient by the wrapper sender or the chat sender, never by
  // data.from, which the reference patient app leaves empty (docs/protocol.md §3).
  const from = sig.sender || chat.sender.person.cred || chat.sender.person.id;
  const to = chat.receiver.person.cred || chat.receiver.person.id;
  if (to !== opt.hpr) {
    emit('log', { text: `dropped ${sig.type} addressed to ${to}` });
    return;
  }
  emit('received', { type: sig.type, from });
  if (sig.type === 'READY') {
    const c = env.context;
    if (!patients.has(from)) {
      patients.set(from, new Envelopes({
        self: person(opt.name, opt.hpr), peer: { name: chat.sender.person.name, cred: from, id: from },
        consumerID: c.consumer_id, consumerURI: c.consumer_uri,
        providerID: 'hspa-nha', providerURI: self + '/api/v1',
        transactionID: c.transaction_id,
      }));
    }
    last = from;
    await send(patients.get(from), { type: 'ACK', data: true });
    if (autoCall >= 0 && !autoCalled) {
      autoCalled = true;
      setTimeout(() => call(from), autoCall);
    }
    return;
  }
  if (!current || from !== current.patient) {
    emit('log', { text: `dropped ${sig.type} from ${from}: not in a call with them` });
    return;
  }
  switch (sig.type) {
    case 'ANSWER':
      await page.evaluate((s) => window.rtc.accept(s), sig.data.description.sdp);
      break;
    case 'CANDIDATE':
      await page.evaluate((c) => window.rtc.addCandidate(c), sig.data.candidate);
      break;
    case 'BYE':
      current = null;
      await page.evaluate(() => window.rtc.hangup());
      break;
    default:
      emit('log', { text: 'ignored ' + sig.type });
  }
}

function onPage(msg) {
  switch (msg.kind) {
    case 'candidate': {
      if (!current || !isLoopbackCandidate(msg.candidate.candidate)) return;
      const { wire, session, patient } = current;
      setTimeout(() => send(wire, { type: 'CANDIDATE', data: {
        to: patient, from: opt.hpr, candidate: msg.candidate, session_id: session,
      } }), candidateDelay);
      break;
    }
    case 'firstFrame':
      emit('firstFrame', { frameAt: msg.at });
      break;
    default:
      emit(msg.kind, msg);
  }
}

const server = await serve(opt.listen, (sig, env) => onSignal(sig, env).catch((err) => emit('error', { text: String(err) })));
self = base(server);
let browser;
try {
  browser = opt['real-mic']
    ? await startBrowser(self + '/', onPage, [], ['--use-fake-device-for-media-stream=fps=30'])
    : await startBrowser(self + '/', onPage, fakeMediaArgs(opt['camera-file'], opt['mic-file']));
} catch (err) {
  emit('error', { text: err.message });
  process.exit(1);
}
page = browser.page;
await page.evaluate((c) => window.rtc.configure(c), iceConfig(opt));
if (opt['real-mic']) await page.evaluate((on) => window.rtc.useRealMicrophone(on), opt['real-mic'] === 'on');
if (opt['lip-sync']) await page.evaluate(() => window.rtc.measureSync());
const stopStats = statsLoop(page, Number(opt['stats-interval']));
emit('listening', { uri: self + '/api/v1' });

const stop = onExit(async () => {
  stopStats();
  await hangup();
  await browser.close();
  server.close();
});
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  const run = cmd === 'call' ? call(last) : cmd === 'hangup' ? hangup() : cmd === 'quit' ? stop() : null;
  if (run) run.catch((err) => emit('error', { text: String(err) }));
});
