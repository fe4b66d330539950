// Package authtest holds what tests of signing in need and a browser would otherwise
// provide: a software passkey that answers WebAuthn options as navigator.credentials would,
// so that the tests can say exactly what comes back (a replay, a counter that goes
// backwards, another person's user handle).
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

var b64 = base64.RawURLEncoding

// Passkey is one P-256 passkey of a software authenticator for Origin.
type Passkey struct {
	t      testing.TB
	Origin string
	ID     []byte
	key    *ecdsa.PrivateKey
	Count  uint32 // the signature counter, moved on by each Get
	Handle []byte // the user handle it keeps (from the registration options)
	NoUV   bool   // only checks presence (no PIN, no fingerprint)
}

// NewPasskey makes a passkey for origin (https://host[:port]).
func NewPasskey(t testing.TB, origin string) *Passkey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Passkey{t: t, Origin: origin, ID: []byte(rand.Text()), key: k}
}

func (k *Passkey) authData(attested bool) []byte {
	u, err := url.Parse(k.Origin)
	if err != nil {
		k.t.Fatal(err)
	}
	rp := sha256.Sum256([]byte(u.Hostname()))
	flags := byte(0x01) // user present
	if !k.NoUV {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	d := append(rp[:], flags)
	d = binary.BigEndian.AppendUint32(d, k.Count)
	if attested {
		d = append(d, make([]byte, 16)...) // AAGUID
		d = binary.BigEndian.AppendUint16(d, uint16(len(k.ID)))
		d = append(d, k.ID...)
		pub, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: k.key.X.FillBytes(make([]byte, 32)), -3: k.key.Y.FillBytes(make([]byte, 32))})
		if err != nil {
			k.t.Fatal(err)
		}
		d = append(d, pub...)
	}
	return d
}

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func (k *Passkey) options(raw []byte) options {
	k.t.Helper()
	var o options
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("passkey options %s: %v", raw, err)
	}
	return o
}

func (k *Passkey) clientData(kind, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": k.Origin, "crossOrigin": false})
	return b
}

// Create answers registration options as navigator.credentials.create would.
func (k *Passkey) Create(raw []byte) []byte {
	k.t.Helper()
	o := k.options(raw)
	h, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		k.t.Fatal(err)
	}
	k.Handle = h
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}})
	return b
}

// Get answers login options as navigator.credentials.get would, the counter moving on.
func (k *Passkey) Get(raw []byte) []byte {
	k.t.Helper()
	k.Count++
	ad := k.authData(false)
	cd := k.clientData("webauthn.get", k.options(raw).PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.Handle)}})
	return b
}
