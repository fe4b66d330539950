package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
)

var testKey = bytes.Repeat([]byte{7}, audit.KeySize)

func chain(n int) []audit.Entry {
	var out []audit.Entry
	var prev []byte
	for i := 1; i <= n; i++ {
		e := audit.Entry{ID: int64(i), At: 1_700_000_000 + int64(i), ActorID: 1, ActorName: "Ana", Action: audit.RoleUpdated,
			TargetType: "role", TargetID: 7, TargetName: "Nurse", Before: json.RawMessage(`{"name": "Nurse"}`), After: json.RawMessage(`{"name":"Head Nurse"}`)}
		if err := e.Seal(testKey, prev); err != nil {
			panic(err)
		}
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(entries []audit.Entry, cps ...audit.Checkpoint) error {
	v := audit.NewVerifier(testKey)
	v.Expect(cps...)
	for _, e := range entries {
		if err := v.Check(e); err != nil {
			return err
		}
	}
	return v.Finish()
}

// oldRecipe is how the chain was sealed before it was keyed, as anyone can compute it.
func oldRecipe(e *audit.Entry, prev []byte) {
	c, err := e.Canonical()
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(append(append([]byte(nil), prev...), c...))
	e.PrevHash, e.Hash = prev, h[:]
}

func TestVerifier(t *testing.T) {
	if err := verify(chain(5)); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	// Whitespace in before/after does not change the canonical form.
	c := chain(3)
	c[1].Before = json.RawMessage(`{ "name" :   "Nurse" }`)
	if err := verify(c); err != nil {
		t.Fatalf("reformatted JSON: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func([]audit.Entry) []audit.Entry
		id     int64
	}{
		{"content", func(c []audit.Entry) []audit.Entry { c[2].After = json.RawMessage(`{"name":"Admin"}`); return c }, 3},
		{"actor", func(c []audit.Entry) []audit.Entry { c[2].ActorName = "Eve"; return c }, 3},
		{"time", func(c []audit.Entry) []audit.Entry { c[2].At++; return c }, 3},
		{"removed", func(c []audit.Entry) []audit.Entry { return append(c[:2], c[3:]...) }, 4},
		{"reordered", func(c []audit.Entry) []audit.Entry { c[2], c[3] = c[3], c[2]; return c }, 4},
		{"first removed", func(c []audit.Entry) []audit.Entry { return c[1:] }, 2},
		{"resealed without the chain", func(c []audit.Entry) []audit.Entry {
			c[2].ActorName = "Eve"
			_ = c[2].Seal(testKey, nil)
			return c
		}, 3},
		// Whoever holds only the database knows the old recipe but not the key: editing an
		// entry and resealing it and every later one the old way shows at the edited entry.
		{"edited and resealed the old way", func(c []audit.Entry) []audit.Entry {
			c[2].ActorName = "Eve"
			for i := 2; i < len(c); i++ {
				oldRecipe(&c[i], c[i-1].Hash)
			}
			return c
		}, 3},
		{"removed, renumbered and resealed the old way", func(c []audit.Entry) []audit.Entry {
			c = append(c[:2], c[3:]...)
			for i := 2; i < len(c); i++ {
				c[i].ID = int64(i + 1)
				oldRecipe(&c[i], c[i-1].Hash)
			}
			return c
		}, 3},
		{"forged at the end", func(c []audit.Entry) []audit.Entry {
			f := audit.Entry{ID: 6, At: 1_700_000_006, ActorName: "Ana", Action: audit.AssignmentAdded, TargetType: "user", TargetID: 9}
			oldRecipe(&f, c[4].Hash)
			return append(c, f)
		}, 6},
		{"sealed with another key", func(c []audit.Entry) []audit.Entry {
			other := bytes.Repeat([]byte{8}, audit.KeySize)
			for i := range c {
				var prev []byte
				if i > 0 {
					prev = c[i-1].Hash
				}
				_ = c[i].Seal(other, prev)
			}
			return c
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(tc.tamper(chain(5)))
			var te *audit.TamperedError
			if !errors.As(err, &te) || te.ID != tc.id {
				t.Fatalf("tampering found as %v; want entry %d", err, tc.id)
			}
		})
	}
}

func TestSealIsKeyed(t *testing.T) {
	e := chain(1)[0]
	old := e
	oldRecipe(&old, nil)
	if bytes.Equal(e.Hash, old.Hash) {
		t.Fatal("the keyed MAC equals the unkeyed hash")
	}
	if err := e.Seal(nil, nil); !errors.Is(err, audit.ErrNoKey) {
		t.Fatalf("seal without a key: %v", err)
	}
	var zero audit.Verifier
	if err := zero.Check(e); !errors.Is(err, audit.ErrNoKey) {
		t.Fatalf("the zero verifier accepted an entry: %v", err)
	}
	// The unkeyed verifier (only for upgrading old logs) checks the old recipe.
	u := audit.NewUnkeyedVerifier()
	if err := u.Check(old); err != nil {
		t.Fatalf("unkeyed verifier on an old entry: %v", err)
	}
	id := audit.KeyID(testKey)
	if !bytes.Equal(id, audit.KeyID(testKey)) || bytes.Equal(id, audit.KeyID(bytes.Repeat([]byte{8}, audit.KeySize))) ||
		bytes.Contains(id, testKey) {
		t.Fatalf("key id %x", id)
	}
}

func TestCheckpoint(t *testing.T) {
	c := chain(5)
	at := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	cp := audit.Checkpoint{Entries: 4, Head: c[3].Hash, At: at}
	line := cp.String()
	if !strings.HasPrefix(line, "rolegate-audit-checkpoint v1 entries=4 head=") || !strings.HasSuffix(line, " at=2026-12-02T07:00:00Z") {
		t.Fatalf("line %q", line)
	}
	// As printed, and as the server's JSON log carries it.
	for _, in := range []string{line, "  " + line + "\n",
		`{"time":"2026-12-02T07:00:00Z","level":"INFO","msg":"audit checkpoint","checkpoint":"` + line + `"}`} {
		got, err := audit.ParseCheckpoint(in)
		if err != nil || got.Entries != 4 || !bytes.Equal(got.Head, c[3].Hash) || !got.At.Equal(at) {
			t.Fatalf("parse %q: %+v %v", in, got, err)
		}
	}
	if err := verify(c, cp); err != nil {
		t.Fatalf("intact log against its checkpoint: %v", err)
	}
	if err := verify(c, audit.Checkpoint{Entries: 5, Head: c[4].Hash}); err != nil {
		t.Fatalf("checkpoint at the newest entry: %v", err)
	}

	// Removing the newest entries leaves an intact chain; only a checkpoint shows it.
	if err := verify(c[:2]); err != nil {
		t.Fatalf("truncated chain alone: %v", err)
	}
	var tr *audit.TruncatedError
	if err := verify(c[:2], cp); !errors.As(err, &tr) || tr.Last != 2 ||
		!strings.Contains(err.Error(), "entries 3 to 4 were removed: the log ends at entry 2") {
		t.Fatalf("truncated against the checkpoint: %v", err)
	}
	// A log re-sealed (with the key) after the checkpoint no longer has its MAC.
	var te *audit.TamperedError
	if err := verify(c, audit.Checkpoint{Entries: 4, Head: c[2].Hash, At: at}); !errors.As(err, &te) || te.ID != 4 {
		t.Fatalf("wrong head: %v", err)
	}

	for _, bad := range []string{
		"",
		"entries=4 head=00",
		"rolegate-audit-checkpoint v2 entries=4 head=" + strings.Repeat("00", 32),
		"rolegate-audit-checkpoint v1 head=" + strings.Repeat("00", 32),
		"rolegate-audit-checkpoint v1 entries=4",
		"rolegate-audit-checkpoint v1 entries=-1 head=",
		"rolegate-audit-checkpoint v1 entries=x head=" + strings.Repeat("00", 32),
		"rolegate-audit-checkpoint v1 entries=4 head=zz",
		"rolegate-audit-checkpoint v1 entries=4 head=00",
		"rolegate-audit-checkpoint v1 entries=0 head=" + strings.Repeat("00", 32),
		"rolegate-audit-checkpoint v1 entries=4 entries=5 head=" + strings.Repeat("00", 32),
		"rolegate-audit-checkpoint v1 entries=4 head=" + strings.Repeat("00", 32) + " at=yesterday",
		"rolegate-audit-checkpoint v1 entries=4 head=" + strings.Repeat("00", 32) + " key=1",
	} {
		if _, err := audit.ParseCheckpoint(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if got, err := audit.ParseCheckpoint("rolegate-audit-checkpoint v1 entries=0 head="); err != nil || got.Entries != 0 {
		t.Errorf("empty log checkpoint: %+v %v", got, err)
	}
}
