// Package db holds the schema migrations, embedded so the binary needs no files beside it.
package db

import "embed"

// Migrations are the forward-only schema steps, named NNNN_name.sql and applied in order.
//
//go:embed migrations/*.sql
var Migrations embed.FS
