package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/rolegate/rolegate/internal/audit"
)

// CreateOrganisation adds an organisation under parentID (0 for a top-level one).
func (s *Store) CreateOrganisation(ctx context.Context, name string, parentID int64) (int64, error) {
	var id int64
	err := s.withAccessTx(ctx, func(tx *sql.Tx) error {
		var parent any
		if parentID != 0 {
			parent = parentID
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO organisations (name, parent_id, created_at) VALUES (?, ?, ?)", name, parent, s.now().Unix())
		if err != nil {
			return fmt.Errorf("store: create organisation: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit.Entry{OrgID: id, Action: audit.OrgCreated, TargetType: "organisation", TargetID: id,
			TargetName: name, After: audit.JSON(map[string]any{"name": name, "parent_id": parentID})})
	})
	return id, err
}
