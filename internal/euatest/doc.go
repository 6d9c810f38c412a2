// Package euatest is an independent patient app (EUA) and a fake UHI gateway
// with its network registry, for tests of the console's booking endpoints
// (the HSPA side). Both are real HTTP servers on loopback. Nothing here
// imports the console's packages: the JSON is built from maps straight from
// /work/shared/docs/uhi-booking.md and the reference implementation's shapes,
// and the request signing (Ed25519 over a BLAKE2b-512 digest,
// docs/protocol.md §5) is written again in sign.go, so the console's verifier
// is tested against a signer that shares no code with it. Import it from
// tests only.
//
// # The gateway
//
// NewGateway starts it. It serves, under its URL:
//
//   - POST /api/v1/uhi/search: an EUA's broadcast, verified against the
//     registry, answered with an ACK, then forwarded unchanged to
//     provider_uri + "/search" of every HSPA added with AddHSPA, with the
//     EUA's Authorization and the gateway's own signature in
//     X-Gateway-Authorization (key "gateway-nha|uhi_gateway_pubkeyid|ed25519");
//   - POST /api/v1/uhi/on_search: an HSPA's catalog, verified, forwarded the
//     same way to consumer_uri + "/on_search" of the EUA that searched on that
//     transaction (else the body's context.consumer_uri);
//   - POST /api/v1/uhi/on_{confirm,status,update,cancel}_audit: the HSPA's
//     audit copies, verified and recorded (Audits, WaitAudit);
//   - POST /api/v1/networkregistry/lookup: {subscriber_id, pub_key_id} is
//     answered with a JSON array of one record carrying the key in
//     signing_public_key and encr_public_key (SPKI base64) and the key id in
//     ukId, unique_key_id and pub_key_id, or 404 when unknown. A console's
//     registry client takes RegistryURL() as its base.
//
// The same endpoints are served without "uhi/" (/api/v1/search...), the
// reference gateway's paths. A request whose signature does not verify gets
// a 401 NACK (UHI-1401 missing, UHI-1405 otherwise) and is recorded with its
// error (Rejected). Register (or RegisterKey) puts keys in the registry; an
// EUA registers its own; the test registers the HSPA's.
//
// # The EUA
//
// NewEUA starts it with a Config. Its consumer_uri (URI) serves POST
// /on_search, /on_init, /on_confirm, /on_status, /on_update, /on_cancel and
// /on_message: each callback's Authorization must verify under a key given in
// Config.HSPAKeys or TrustHSPA, or the gateway registry's key for its keyId;
// a forwarded on_search's X-Gateway-Authorization must verify under the
// gateway's key; context.action must match the path. Accepted callbacks get
// an ACK and are handed out by Wait(action, transaction), once each, in
// order, within Config.Timeout (default 10 s); refused ones get a NACK and
// are listed by Rejected.
//
// A booking is driven step by step, each step a signed POST whose NACK is
// returned as an error, its answer a callback to Wait for:
//
//	txn, _ := eua.SearchDoctors(euatest.Filters{Speciality: "CARDIOLOGY"}) // via the gateway
//	cat, _ := eua.Wait("on_search", txn)
//	doc := euatest.Doctors(cat)[0]
//	txn, _ = eua.SearchSlots(doc, day)                                      // to doc.ProviderURI + "/search"
//	slots, _ := eua.Wait("on_search", txn)
//	b, _ := eua.Init(euatest.Slots(slots)[0])                               // provider_uri + "/init"
//	onInit, _ := eua.Wait("on_init", b.TransactionID)
//	_ = eua.Confirm(b, onInit, chatKey)                                     // every term AGREED
//	onConfirm, _ := eua.Wait("on_confirm", b.TransactionID)
//	pin, _ := euatest.PIN(onConfirm)
//
// then Status, Cancel, and DoctorNoShow (an on_update to provider_uri +
// "/on_update"). The booking keeps the slot search's transaction from init
// on. Ready posts the booked patient's READY (an on_message on that
// transaction to provider_uri + "/on_message"); SignalOf reads the doctor's
// answer, DoctorsKey the doctor's chat key from on_confirm.
//
// Two flavours: Physical, the 2026 network's (type "Physical", tags
// "@abdm/gov.in/...", customer.id the ABHA address with
// "@abdm/gov.in/abha_number", terms returned AGREED, the PIN in on_confirm's
// authorization), and Teleconsultation, the reference patient app's (type
// "Teleconsultation", the doctor's tags rewritten "@abdm/gov/in/...",
// customer {"id": "", "cred": address}, the doctor also named in cred in the
// slot search, the chat key in "@abdm/gov.in/patient_key").
//
// # Negative tests
//
// Every step has a ...Body method that returns the request as a map, to be
// changed (Set, SetSlotTimes with MalformedTime or Zulu, DisagreeTerm) and
// posted with Send (signed), SendUnsigned, SendForged (a well-formed header
// for the EUA's keyId, signed by another key), SendTampered (the bytes
// changed after signing), SendExpired (a window an hour old) or SendRaw. They
// return the Reply: HTTP status, ACK or NACK, error code and message.
package euatest
