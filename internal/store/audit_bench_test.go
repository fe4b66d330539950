package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
)

// What appending an audit entry adds to a write: the chain lookup, the name lookups, the
// hash and the insert, inside a transaction that is open anyway (target ≤ 100 µs/op).
func BenchmarkAppendAudit(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.Setup(ctx, SetupInput{OrgName: "Northside", Name: "Ana Ruiz", Email: "ana@example.org", PasswordHash: "x"}); err != nil {
		b.Fatal(err)
	}
	e := audit.Entry{ActorID: 1, OrgID: 1, Action: audit.RoleUpdated, TargetType: "role", TargetID: 3, TargetName: "Nurse",
		Before: audit.JSON(map[string]any{"name": "Nurse", "permissions": []string{"patients.view", "scheduling.access"}}),
		After:  audit.JSON(map[string]any{"name": "Head Nurse", "permissions": []string{"patients.view", "scheduling.access", "billing.view"}})}
	const perTx = 500
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(perTx, b.N-done)
		if err := st.withTx(ctx, func(tx *sql.Tx) error {
			for range n {
				if err := st.appendAudit(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		done += n
	}
}
