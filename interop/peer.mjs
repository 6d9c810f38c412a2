// peer.mjs: what patient.mjs and doctor.mjs share. A browser cannot serve
// HTTP, so the Node process around it serves the UHI on_message endpoint
// (docs/protocol.md §1), builds and posts the envelopes (§2, §3) and bridges each
// signal to the page (page.js) that holds the RTCPeerConnection.
//
// Both scripts print one JSON object per line on stdout ({"event":...}); the
// Go tests and benchmarks read them. Nothing else goes to stdout.
import { createServer } from 'node:http';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

// emit prints one event line for the test that started us.
export function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, at: Date.now(), ...fields }) + '\n');
}

// chromiumArgs are the start flags of docs/stack.md ("Real peers on this
// machine"): headless, no network of its own (no background networking,
// component updates, sync or QUIC), a synthetic camera and microphone
// granted without a prompt (640x480 at 30 fps, the console's own format, so
// both sides of a measured call encode the same), and loopback candidates,
// since the tests run on 127.0.0.1 alone.
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

// isLoopbackCandidate says whether an ICE candidate line's address is
// 127.0.0.0/8. Only those are signalled: the tests' traffic stays on
// loopback, and the other interfaces' candidates would only add pairs that
// cannot be used from the console's loopback-only sockets.
export function isLoopbackCandidate(line) {
  const f = line.split(' ');
  return f.length > 5 && f[4].startsWith('127.');
}

// iceOptions are the parseArgs options both scripts take for ICE, as the
// console's flags: --ice-servers (comma-separated stun:, turn: and turns:
// URLs; none by default, host candidates only), --turn-user and
// --turn-password for every TURN URL, and --ice-transport-policy all|relay.
export const iceOptions = {
  'ice-servers': { type: 'string', default: '' },
  'turn-user': { type: 'string', default: '' },
  'turn-password': { type: 'string', default: '' },
  'ice-transport-policy': { type: 'string', default: 'all' },
};

// iceConfig turns iceOptions' values into the RTCConfiguration the page
// makes its peer connections with.
export function iceConfig(opt) {
  const urls = opt['ice-servers'].split(',').map((u) => u.trim()).filter((u) => u);
  const iceServers = urls.map((u) => (/^turns?:/.test(u)
    ? { urls: u, username: opt['turn-user'], credential: opt['turn-password'] }
    : { urls: u }));
  return { iceServers, iceTransportPolicy: opt['ice-transport-policy'] };
}

// fakeMediaArgs are the flags that make Chromium's fake camera and
// microphone play files (a .y4m clip and a .wav) instead of its own
// animation and beeps; empty names keep those.
export function fakeMediaArgs(videoFile, audioFile) {
  const args = [];
  if (videoFile) args.push(`--use-file-for-fake-video-capture=${videoFile}`);
  if (audioFile) args.push(`--use-file-for-fake-audio-capture=${audioFile}`);
  return args;
}

// startBrowser starts Debian's Chromium with a fresh profile and opens the
// peer page from our own loopback server (a secure context, so getUserMedia
// works). onMessage gets every report of the page; extraArgs are added to
// chromiumArgs, and those of chromiumArgs in withoutArgs are left out.
export async function startBrowser(pageURL, onMessage, extraArgs = [], withoutArgs = []) {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const profile = mkdtempSync(join(tmpdir(), 'teleconsole-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...chromiumArgs.filter((a) => !withoutArgs.includes(a)), ...extraArgs],
      ignoreDefaultArgs: ['--mute-audio'],
      // onExit closes the browser after the BYE; playwright's own signal
      // handlers would close it at the same time, and one of the two closes
      // then fails ("Target page, context or browser has been closed").
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      permissions: ['camera', 'microphone'],
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`cannot start ${executablePath} (run make deps): ${err.message}`);
  }
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') emit('log', { text: 'page: ' + m.text() }); });
  page.on('pageerror', (err) => emit('error', { text: 'page: ' + err.message }));
  await page.exposeFunction('toNode', (s) => onMessage(JSON.parse(s)));
  await page.goto(pageURL);
  await page.waitForFunction(() => !!window.rtc);
  const close = async () => {
    try { await context.close(); } finally { rmSync(profile, { recursive: true, force: true }); }
  };
  return { page, context, close };
}

// ack is the HTTP-level acknowledgement (docs/protocol.md §1), not the signalling ACK.
const ackBody = JSON.stringify({ message: { ack: { status: 'ACK' } } });
const nackBody = (code, message) => JSON.stringify({
  message: { ack: { status: 'NACK' } },
  error: { type: 'JSON-SCHEMA-ERROR', code, path: 'message', message },
});

// serve runs the on_message endpoint (POST /api/v1/on_message and
// /on_message) and the page (GET /). It answers at once and hands each
// parsed signal to onSignal afterwards (docs/protocol.md §1), and each chat
// envelope to onChat, when given (docs/protocol.md §7).
export function serve(listen, onSignal, onChat) {
  const page = readFileSync(join(here, 'page.js'), 'utf8') + '\n' + readFileSync(join(here, 'chatpage.js'), 'utf8');
  const html = '<!doctype html><meta charset="utf-8"><title>peer</title><body><script>' + page + '</script></body>';
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    if (req.method === 'GET' && req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST' || !/\/on_message$/.test(req.url)) {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let env;
      let sig;
      try {
        env = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const content = env.message.intent.chat.content;
        if (content.content_type !== 'video_call_signalling') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(ackBody);
          if (onChat) setImmediate(() => onChat(env));
          return;
        }
        const v = content.content_value;
        sig = typeof v === 'string' ? JSON.parse(v) : v; // tolerate an object (docs/protocol.md §2)
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(nackBody('UHI-1411', String(err)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(ackBody);
      setImmediate(() => onSignal(sig, env));
    });
  });
  const [host, port] = splitHostPort(listen);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function splitHostPort(hp) {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}

// base returns the http://HOST:PORT of a listening server.
export function base(server) {
  const a = server.address();
  return `http://${a.address}:${a.port}`;
}

// Envelopes builds the envelopes of one side of a consultation the way the
// reference apps write them (docs/protocol.md §2): cred and id both, content_value
// a string holding JSON, extra fields the Java backend adds.
export class Envelopes {
  constructor({ self, peer, consumerID, consumerURI, providerID, providerURI, transactionID }) {
    Object.assign(this, { self, peer, consumerID, consumerURI, providerID, providerURI, transactionID });
  }

  build(inner) {
    const mid = randomUUID();
    const now = new Date();
    return {
      context: {
        domain: 'nic2004:85111', country: 'IND', city: 'std:080',
        action: 'on_message', core_version: '0.7.1',
        consumer_id: this.consumerID, consumer_uri: this.consumerURI,
        provider_id: this.providerID, provider_uri: this.providerURI,
        transaction_id: this.transactionID, message_id: mid,
        timestamp: now.toISOString(),
      },
      message: { intent: { chat: {
        sender: { person: this.self },
        receiver: { person: this.peer },
        content: {
          content_id: mid,
          content_value: JSON.stringify(inner),
          content_type: 'video_call_signalling',
          content_filename: null,
          content_mimetype: null,
          content_url: null,
        },
        time: { timestamp: now.toISOString().slice(0, 19) },
      } } },
    };
  }
}

// post sends one envelope to base + "/on_message" and fails unless the
// receiver answers with an ACK.
export async function post(baseURI, env) {
  const res = await fetch(baseURI.replace(/\/$/, '') + '/on_message', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(env),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (!res.ok || !text.includes('"ACK"')) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
}

// person is a participant as the reference apps write it: cred and id both,
// and the birth-date fields the Java backend adds (docs/protocol.md §2).
export function person(name, address, image = '') {
  return {
    name, gender: 'M', image, cred: address, id: address,
    dayOfBirth: '12', monthOfBirth: '08', yearOfBirth: '1992',
  };
}

// photo makes a base64 "photo" of about kb kilobytes, as the reference
// patient app sends in person.image.
export function photo(kb) {
  if (kb <= 0) return '';
  const raw = Buffer.alloc(Math.floor((kb * 1024 * 3) / 4));
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return raw.toString('base64');
}

// statsLoop reports the page's getStats figures every ms milliseconds.
export function statsLoop(page, ms) {
  const t = setInterval(async () => {
    try {
      emit('stats', await page.evaluate(() => window.rtc.stats()));
    } catch { /* the page is closing */ }
  }, ms);
  return () => clearInterval(t);
}

// onExit runs fn once on SIGINT, SIGTERM or the end of stdin, then exits.
export function onExit(fn) {
  let done = false;
  const stop = async () => {
    if (done) return;
    done = true;
    try { await fn(); } catch (err) { emit('error', { text: String(err) }); }
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return stop;
}
