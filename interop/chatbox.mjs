// The chat encryption of the patients' reference apps, written a second
// time with Node's own crypto (OpenSSL), so the console's Go code is checked
// against an implementation it shares nothing with (docs/protocol.md §7):
// the X25519 shared secret, raw, is the AES-256-CTR key (the 16-byte nonce
// is the initial counter block) and the HMAC-SHA256 key (over the
// ciphertext only).
//
// One JSON request on stdin, one JSON answer on stdout:
//   {"op":"secret","private":[32 ints],"public":[32 ints]}       -> {"secret":"hex"}
//   {"op":"public","private":[32 ints]}                          -> {"public":[32 ints]}
//   {"op":"seal","private":…,"public":…,"nonce":[16 ints],"text":"…"} -> {"content_value":"…"}
//   {"op":"open","private":…,"public":…,"content_value":"…"}     -> {"text":"…"} or {"error":"…"}
import crypto from 'node:crypto';

const PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI = Buffer.from('302a300506032b656e032100', 'hex');

const privateKey = (ints) =>
  crypto.createPrivateKey({ key: Buffer.concat([PKCS8, Buffer.from(ints)]), format: 'der', type: 'pkcs8' });
const publicKey = (ints) =>
  crypto.createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(ints)]), format: 'der', type: 'spki' });
const secret = (req) => crypto.diffieHellman({ privateKey: privateKey(req.private), publicKey: publicKey(req.public) });
const mac = (key, ct) => crypto.createHmac('sha256', key).update(ct).digest();
const ctr = (key, nonce, data) => {
  const c = crypto.createCipheriv('aes-256-ctr', key, nonce);
  return Buffer.concat([c.update(data), c.final()]);
};

function handle(req) {
  switch (req.op) {
    case 'secret':
      return { secret: secret(req).toString('hex') };
    case 'public': {
      const der = crypto.createPublicKey(privateKey(req.private)).export({ format: 'der', type: 'spki' });
      return { public: [...der.subarray(SPKI.length)] };
    }
    case 'seal': {
      const key = secret(req);
      const nonce = Buffer.from(req.nonce);
      const ct = ctr(key, nonce, Buffer.from(req.text, 'utf8'));
      // The reference apps' jsonEncode of three integer lists.
      return { content_value: JSON.stringify({ cipher_text: [...ct], nonce: [...nonce], mac_bytes: [...mac(key, ct)] }) };
    }
    case 'open': {
      const key = secret(req);
      const box = JSON.parse(req.content_value);
      const ct = Buffer.from(box.cipher_text);
      const want = mac(key, ct);
      const got = Buffer.from(box.mac_bytes);
      if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
        return { error: 'mac' };
      }
      return { text: ctr(key, Buffer.from(box.nonce), ct).toString('utf8') };
    }
    default:
      return { error: `unknown op ${req.op}` };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(handle(JSON.parse(input))) + '\n');
});
