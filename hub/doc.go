// Package hub is a hospital's one UHI endpoint for many doctors' consoles,
// over NATS with JetStream. The Hub serves the public POST
// /api/v1/on_message, checks each request as a console checks it
// (uhiclient.Server), and stores it in a JetStream stream on the subject of
// the doctor it is addressed to before it answers ACK; each console (Link)
// connects out to NATS, from behind NAT if need be, reads its own subject
// through its own durable consumer, and sends through the hub, which signs
// with the hospital's key and posts to the patient. Replicas of the Hub
// share nothing but NATS: the stream holds the messages and de-duplicates
// message_ids across replicas, a key-value bucket holds when each console
// was last seen (docs/hub.md).
package hub
