// patient.mjs: headless Chromium plays the patient exactly as the reference
// patient app (Flutter, libwebrtc) does, against any HSPA: READY every
// --ready-interval until the first ACK, answers the doctor's OFFER with
// "from":"", sends cred and id and a large base64 photo, trickles each
// candidate --candidate-delay after gathering (possibly before the ANSWER,
// with --answer-delay), puts a private-network consumer_uri in its call
// messages, and says BYE when it leaves (docs/protocol.md §2, §3).
//
//   node patient.mjs --console URL [--listen 127.0.0.1:0] [--name N] [--abha A]
//        [--hpr D] [--ready-interval 5000] [--candidate-delay 1000]
//        [--answer-delay 0] [--photo-kb 1024] [--stats-interval 1000] [--rejoin]
//        [--camera-file clip.y4m] [--mic-file sound.wav] [--lip-sync]
//        [--ice-servers URLS] [--turn-user U] [--turn-password P]
//        [--ice-transport-policy all|relay]
//        [--chat-private '[32 ints]' --doctor-chat-key '[32 ints]'] [--say TEXT]
//
// With both chat keys, chat goes as the reference app sends it, encrypted
// in the page (chatpage.js); --say sends TEXT once the call is connected.
// Chat from the doctor is reported as chat (text, encrypted, value: the
// content_value as it came) or chatError.
//
// --camera-file and --mic-file make the fake camera and microphone play
// those files (the console's synthetic media, with its sync marks).
// --lip-sync measures the doctor's sync marks where the page presents them,
// and the patient's own camera and microphone in their preview.
//
// Events on stdout, one JSON object a line: listening; sent and received
// (with the signal's type); track, state (the connection's), firstFrame (the
// first of the doctor's video frames decoded), stats (getStats figures),
// sync (one lip-sync mark: type "remote" or "local", offset = audio minus
// video in ms), log and error.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import {
  emit, serve, base, startBrowser, fakeMediaArgs, iceOptions, iceConfig, Envelopes, post, person, photo, statsLoop, onExit, isLoopbackCandidate,
} from './peer.mjs';

const { values: opt } = parseArgs({ options: {
  console: { type: 'string' },
  listen: { type: 'string', default: '127.0.0.1:0' },
  name: { type: 'string', default: 'Manish Pravin Kahane' },
  abha: { type: 'string', default: 'manishkahane1992@sbx' },
  hpr: { type: 'string', default: 'ganeshborse@hpr.ndhm' },
  'ready-interval': { type: 'string', default: '5000' },
  'candidate-delay': { type: 'string', default: '1000' },
  'answer-delay': { type: 'string', default: '0' },
  'photo-kb': { type: 'string', default: '1024' },
  'stats-interval': { type: 'string', default: '1000' },
  rejoin: { type: 'boolean', default: false },
  'camera-file': { type: 'string', default: '' },
  'mic-file': { type: 'string', default: '' },
  'lip-sync': { type: 'boolean', default: false },
  ...iceOptions,
  'chat-private': { type: 'string', default: '' },
  'doctor-chat-key': { type: 'string', default: '' },
  say: { type: 'string', default: '' },
} });
if (!opt.console) {
  emit('error', { text: '--console URL is required' });
  process.exit(2);
}
const readyEvery = Number(opt['ready-interval']);
const candidateDelay = Number(opt['candidate-delay']);
const answerDelay = Number(opt['answer-delay']);

let wire; // Envelopes for the appointment
let callWire; // the same with the reference app's hard-coded consumer_uri
let session = ''; // session_id of the current call
let acked = false;
let readyTimer = null;
let inCall = false;
let page;

const send = async (what, inner, w = callWire) => {
  try {
    await post(opt.console, w.build({ ...inner, sender: opt.abha }));
    emit('sent', { type: inner.type, ...(inner.type === 'CANDIDATE' ? { candidate: inner.data.candidate.candidate } : {}) });
  } catch (err) {
    emit('error', { text: `${what} not delivered: ${err.message}` });
  }
};

// announce: the first READY one interval after the screen opens, then every
// interval until ACKed (docs/protocol.md §3).
function announce() {
  acked = false;
  clearInterval(readyTimer);
  readyTimer = setInterval(() => {
    if (!acked) send('READY', { type: 'READY', data: true }, wire);
  }, readyEvery);
}

async function onSignal(sig, env) {
  // Like the reference app: drop what is not from the booked doctor.
  const from = sig.sender || env.message.intent.chat.sender.person.cred || env.message.intent.chat.sender.person.id;
  if (from !== opt.hpr) {
    emit('log', { text: `dropped ${sig.type} from ${from}` });
    return;
  }
  emit('received', { type: sig.type });
  switch (sig.type) {
    case 'ACK':
      acked = true;
      clearInterval(readyTimer);
      break;
    case 'OFFER': {
      if (inCall) return; // a repeated OFFER
      inCall = true;
      session = sig.data.session_id;
      const sdp = await page.evaluate((s) => window.rtc.answer(s), sig.data.description.sdp);
      // Candidates are already on their way (--candidate-delay after
      // gathering); a slow ANSWER is overtaken by them.
      if (answerDelay > 0) await new Promise((r) => setTimeout(r, answerDelay));
      await send('ANSWER', { type: 'ANSWER', data: {
        to: opt.hpr, from: '', description: { sdp, type: 'answer' }, session_id: session,
      } });
      break;
    }
    case 'CANDIDATE':
      await page.evaluate((c) => window.rtc.addCandidate(c), sig.data.candidate);
      break;
    case 'BYE':
      inCall = false;
      await page.evaluate(() => window.rtc.hangup());
      if (opt.rejoin) announce(); // the patient re-opens the waiting room
      break;
    default:
      emit('log', { text: 'ignored ' + sig.type });
  }
}

const chatKeys = opt['chat-private'] && opt['doctor-chat-key']
  ? [JSON.parse(opt['chat-private']), JSON.parse(opt['doctor-chat-key'])] : null;
let said = false;

// sendChat sends text as the reference app does: content_type text, the
// box from the page when both keys are known, plain otherwise.
async function sendChat(text) {
  const value = chatKeys ? await page.evaluate(([k, t]) => window.chatbox.seal(k[0], k[1], t), [chatKeys, text]) : text;
  const env = wire.build({});
  env.message.intent.chat.content.content_type = 'text';
  env.message.intent.chat.content.content_value = value;
  try {
    await post(opt.console, env);
    emit('chatSent', { text, value });
  } catch (err) {
    emit('error', { text: `chat not delivered: ${err.message}` });
  }
}

// onChat opens a chat message from the doctor as the reference app does:
// a value with cipher_text is a box, anything else plain text.
async function onChat(env) {
  const c = env.message.intent.chat.content;
  const value = typeof c.content_value === 'string' ? c.content_value : JSON.stringify(c.content_value);
  if (c.content_type !== 'text') {
    emit('chat', { type: c.content_type, text: c.content_fileName || '', value: '' });
    return;
  }
  if (!value.includes('cipher_text')) {
    emit('chat', { type: 'text', text: value, value, encrypted: false });
    return;
  }
  try {
    const text = await page.evaluate(([k, v]) => window.chatbox.open(k[0], k[1], v), [chatKeys, value]);
    emit('chat', { type: 'text', text, value, encrypted: true });
  } catch (err) {
    emit('chatError', { text: String(err), value });
  }
}

function onPage(msg) {
  switch (msg.kind) {
    case 'candidate':
      if (!isLoopbackCandidate(msg.candidate.candidate)) return;
      setTimeout(() => send('CANDIDATE', { type: 'CANDIDATE', data: {
        to: opt.hpr, from: '', candidate: msg.candidate, session_id: session,
      } }), candidateDelay);
      break;
    case 'firstFrame':
      emit('firstFrame', { frameAt: msg.at });
      break;
    case 'state':
      emit('state', msg);
      if (msg.state === 'connected' && opt.say && !said) {
        said = true;
        sendChat(opt.say);
      }
      break;
    default:
      emit(msg.kind, msg);
  }
}

const server = await serve(opt.listen, (sig, env) => onSignal(sig, env).catch((err) => emit('error', { text: String(err) })),
  (env) => onChat(env).catch((err) => emit('error', { text: String(err) })));
const self = base(server);
const common = {
  self: person(opt.name, opt.abha, photo(Number(opt['photo-kb']))),
  peer: { name: '', cred: opt.hpr, id: opt.hpr },
  consumerID: 'eua-nha',
  providerID: 'hspa-nha',
  providerURI: opt.console,
  transactionID: randomUUID(),
};
wire = new Envelopes({ ...common, consumerURI: self + '/api/v1' });
// The reference app's signalling carries a hard-coded private-network
// consumer_uri; the doctor must keep the one it learnt (docs/protocol.md §2). This
// one is on loopback so a console that wrongly used it stays on this host.
callWire = new Envelopes({ ...common, consumerURI: 'http://127.0.0.1:9/api/v1/euaService' });

let browser;
try {
  browser = await startBrowser(self + '/', onPage, fakeMediaArgs(opt['camera-file'], opt['mic-file']));
} catch (err) {
  emit('error', { text: err.message });
  process.exit(1);
}
page = browser.page;
await page.evaluate((c) => window.rtc.configure(c), iceConfig(opt));
await page.evaluate(() => window.rtc.openMedia()); // the app's camera preview
if (opt['lip-sync']) await page.evaluate(() => window.rtc.measureSync());
const stopStats = statsLoop(page, Number(opt['stats-interval']));
emit('listening', { uri: self + '/api/v1' });
announce();

onExit(async () => {
  clearInterval(readyTimer);
  stopStats();
  // Leaving the screen sends BYE (docs/protocol.md §3).
  await send('BYE', { type: 'BYE', data: { session_id: session || `${opt.hpr}-${opt.abha}`, from: '' } });
  await browser.close();
  server.close();
});
