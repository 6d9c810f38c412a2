// chatpage.js runs inside headless Chromium beside page.js: the chat
// encryption of the patients' reference apps written a third time, with the
// browser's WebCrypto (BoringSSL), as the reference patient app's web build
// would meet it (docs/protocol.md §7): the X25519 shared secret, raw, is the
// AES-256-CTR key (the 16-byte nonce is the whole initial counter block)
// and the HMAC-SHA256 key, over the ciphertext only. content_value is
// jsonEncode of {cipher_text, nonce, mac_bytes}, each a list of integers.
'use strict';

window.chatbox = (() => {
  const PKCS8 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];
  const subtle = crypto.subtle;

  async function secret(privateInts, publicInts) {
    const priv = await subtle.importKey('pkcs8', new Uint8Array([...PKCS8, ...privateInts]), { name: 'X25519' }, false, ['deriveBits']);
    const pub = await subtle.importKey('raw', new Uint8Array(publicInts), { name: 'X25519' }, false, []);
    return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256));
  }

  async function keys(raw) {
    const aes = await subtle.importKey('raw', raw, { name: 'AES-CTR' }, false, ['encrypt', 'decrypt']);
    const mac = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    return { aes, mac };
  }

  // The counter is the whole block (length 128), as Go's cipher.NewCTR
  // and OpenSSL count.
  const ctr = (nonce) => ({ name: 'AES-CTR', counter: nonce, length: 128 });

  return {
    async seal(privateInts, publicInts, text) {
      const k = await keys(await secret(privateInts, publicInts));
      const nonce = crypto.getRandomValues(new Uint8Array(16));
      const ct = new Uint8Array(await subtle.encrypt(ctr(nonce), k.aes, new TextEncoder().encode(text)));
      const mac = new Uint8Array(await subtle.sign('HMAC', k.mac, ct));
      return JSON.stringify({ cipher_text: [...ct], nonce: [...nonce], mac_bytes: [...mac] });
    },
    // open checks the MAC before it decrypts, and refuses a box that fails.
    async open(privateInts, publicInts, value) {
      const box = JSON.parse(value);
      const k = await keys(await secret(privateInts, publicInts));
      const ct = new Uint8Array(box.cipher_text);
      if (!(await subtle.verify('HMAC', k.mac, new Uint8Array(box.mac_bytes), ct))) {
        throw new Error('MAC does not verify');
      }
      const pt = await subtle.decrypt(ctr(new Uint8Array(box.nonce)), k.aes, ct);
      return new TextDecoder().decode(pt);
    },
  };
})();
