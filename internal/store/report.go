package store

import (
	"context"
	"database/sql"
	"fmt"
)

// AssignmentKey names one role assignment.
type AssignmentKey struct{ UserID, RoleID, OrgID int64 }

// AssignedSince gives, for every role assignment made in orgIDs, when it was made (Unix
// seconds): the "since" of the access report. The permission snapshot knows who holds what,
// not since when.
func (s *Store) AssignedSince(ctx context.Context, orgIDs []int64) (map[AssignmentKey]int64, error) {
	out := map[AssignmentKey]int64{}
	if len(orgIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(orgIDs))
	for i, id := range orgIDs {
		args[i] = id
	}
	err := eachRow(ctx, s.r, "SELECT user_id, role_id, org_id, created_at FROM role_assignments WHERE org_id IN ("+placeholders(len(orgIDs))+")", args,
		func(r *sql.Rows) error {
			var k AssignmentKey
			var at int64
			if err := r.Scan(&k.UserID, &k.RoleID, &k.OrgID, &at); err != nil {
				return err
			}
			out[k] = at
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: assignments since: %w", err)
	}
	return out, nil
}
