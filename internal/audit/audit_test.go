package audit_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
)

func chain(n int) []audit.Entry {
	var out []audit.Entry
	var prev []byte
	for i := 1; i <= n; i++ {
		e := audit.Entry{ID: int64(i), At: 1_700_000_000 + int64(i), ActorID: 1, ActorName: "Ana", Action: audit.RoleUpdated,
			TargetType: "role", TargetID: 7, TargetName: "Nurse", Before: json.RawMessage(`{"name": "Nurse"}`), After: json.RawMessage(`{"name":"Head Nurse"}`)}
		if err := e.Seal(prev); err != nil {
			panic(err)
		}
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(entries []audit.Entry) error {
	var v audit.Verifier
	for _, e := range entries {
		if err := v.Check(e); err != nil {
			return err
		}
	}
	return nil
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
	for name, tamper := range map[string]func([]audit.Entry) []audit.Entry{
		"content":   func(c []audit.Entry) []audit.Entry { c[2].After = json.RawMessage(`{"name":"Admin"}`); return c },
		"actor":     func(c []audit.Entry) []audit.Entry { c[2].ActorName = "Eve"; return c },
		"time":      func(c []audit.Entry) []audit.Entry { c[2].At++; return c },
		"removed":   func(c []audit.Entry) []audit.Entry { return append(c[:2], c[3:]...) },
		"reordered": func(c []audit.Entry) []audit.Entry { c[2], c[3] = c[3], c[2]; return c },
		"first removed": func(c []audit.Entry) []audit.Entry {
			return c[1:]
		},
		"rehashed without the chain": func(c []audit.Entry) []audit.Entry {
			c[2].ActorName = "Eve"
			_ = c[2].Seal(nil)
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := verify(tamper(chain(5)))
			var te *audit.TamperedError
			if !errors.As(err, &te) {
				t.Fatalf("tampering not found: %v", err)
			}
		})
	}
}
