package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
)

// attacker holds only the database file (a copy of it, or a backup): they can drop the
// append-only triggers and rewrite any row, and they know the old unkeyed recipe of the chain,
// SHA-256 over the previous hash and the entry's canonical JSON. They do not have the key file.
type attacker struct {
	t  *testing.T
	db *sql.DB
}

func newAttacker(t *testing.T, path string) *attacker {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &attacker{t: t, db: db}
	a.exec("DROP TRIGGER IF EXISTS audit_log_no_update")
	a.exec("DROP TRIGGER IF EXISTS audit_log_no_delete")
	return a
}

func (a *attacker) exec(q string, args ...any) {
	a.t.Helper()
	if _, err := a.db.Exec(q, args...); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
}

// entries reads the log as the store does.
func (a *attacker) entries() []audit.Entry {
	a.t.Helper()
	rows, err := a.db.Query(`SELECT id, at, coalesce(actor_id, 0), actor_name, coalesce(org_id, 0), org_name, action, target_type,
		target_id, target_name, coalesce(before_json, ''), coalesce(after_json, ''), client, prev_hash, hash FROM audit_log ORDER BY id`)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var before, after string
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.OrgID, &e.OrgName, &e.Action, &e.TargetType, &e.TargetID,
			&e.TargetName, &before, &after, &e.Client, &e.PrevHash, &e.Hash); err != nil {
			a.t.Fatal(err)
		}
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// unkeyedHash is the old recipe: SHA-256 of the previous hash and the canonical content.
func (a *attacker) unkeyedHash(e audit.Entry, prev []byte) []byte {
	a.t.Helper()
	c, err := e.Canonical()
	if err != nil {
		a.t.Fatal(err)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(c)
	return h.Sum(nil)
}

// reseal recomputes the chain from entry from on with the old recipe, as a tamperer covering
// their tracks would.
func (a *attacker) reseal(from int64) {
	a.t.Helper()
	prev := []byte{}
	for _, e := range a.entries() {
		if e.ID >= from {
			e.Hash = a.unkeyedHash(e, prev)
			a.exec("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", prev, e.Hash, e.ID)
		}
		prev = e.Hash
	}
}

// forge appends an entry that was never recorded, linked to the newest one and hashed.
func (a *attacker) forge() int64 {
	a.t.Helper()
	es := a.entries()
	last := es[len(es)-1]
	e := audit.Entry{ID: last.ID + 1, At: last.At + 1, ActorName: "Ana Ruiz", Action: audit.AssignmentAdded, TargetType: "user",
		TargetID: 2, TargetName: "Mallory", After: json.RawMessage(`{"role":"ADMIN"}`)}
	e.Hash = a.unkeyedHash(e, last.Hash)
	a.exec(`INSERT INTO audit_log (id, at, actor_id, actor_name, org_id, org_name, action, target_type, target_id, target_name,
		before_json, after_json, client, prev_hash, hash) VALUES (?, ?, NULL, ?, NULL, '', ?, ?, ?, ?, NULL, ?, '', ?, ?)`,
		e.ID, e.At, e.ActorName, e.Action, e.TargetType, e.TargetID, e.TargetName, string(e.After), last.Hash, e.Hash)
	return e.ID
}

// remove deletes entry id and renumbers the ones after it, so no id is missing.
func (a *attacker) remove(id int64) {
	a.t.Helper()
	a.exec("DELETE FROM audit_log WHERE id = ?", id)
	for _, e := range a.entries() {
		if e.ID > id {
			a.exec("UPDATE audit_log SET id = ? WHERE id = ?", e.ID-1, e.ID)
		}
	}
}
