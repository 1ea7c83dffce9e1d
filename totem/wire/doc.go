// Package wire holds the totem SRP messages as plain Go values and their
// codecs for the two framings corosync has used on udp/udpu:
//
//   - Framing V3 (corosync 3.x, exec/totemsrp.c at v3.1.7): 13-byte header
//     with magic 0xC070 and version 3; processors are identified by a 4-byte
//     nodeid; ring ids are {rep nodeid, seq} (12 bytes).
//   - Framing V2 (corosync 2.x, exec/totemsrp.c at v2.4.6): 8-byte header
//     with the 0xFF22 endian detector; processors are srp_addr values of 45
//     bytes (count + two totem_ip_address); ring ids are
//     {rep totem_ip_address, seq} (30 bytes). On the wire every 2.x datagram
//     is additionally wrapped by the crypto layer (see crypto.go).
//
// The structs are designed for the SRP state machine: node ids and counters
// as plain fields, variable lists as slices. The few fields that carry no
// protocol meaning but must survive a decode/encode round trip byte for byte
// (the 3.x target_nodeid, which corosync leaves uninitialised on udp/udpu)
// are kept and documented as such.
//
// # Round trips and garbage fields
//
// Every datagram of the corosync 3.1.7 and 2.4.6 captures in
// shared/testdata decodes and re-encodes to identical bytes with no mask:
// the only uninitialised field at this layer, the 3.x target_nodeid, is
// kept in Header.Target. (At the totempg layer, 2.x leaves the packet type
// uninitialised; see package pg.)
//
// # Crypto (2.x only)
//
// Crypto implements the 2.3/2.4 datagram wrapper (crypto.go): every 2.x
// datagram starts FE FE 00 00, optionally followed by a 16-byte salt and
// AES/3DES-CBC ciphertext, and ends with an HMAC over everything before
// it. Keys come straight from the authkey (docs/corosync2-crypto.md).
//
// # Robustness
//
// Decode never panics and never allocates more than a small multiple of
// its input: list counts are checked against the bytes left before any
// slice is made. Rejections are sentinel errors (ErrShort, ErrMagic, ...)
// wrapped with detail; FuzzDecode2/FuzzDecode3/FuzzDecrypt exercise them.
package wire
