package rbac

import (
	"errors"
	"slices"
	"testing"
)

// regression fails the test for a bug that was found and fixed, saying what came back.
func regression(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Errorf("regression: "+format, args...)
}

// asCatalogError asserts that err is (or wraps) a *CatalogError and returns it.
func asCatalogError(t *testing.T, err error) *CatalogError {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a *CatalogError, got nil")
	}
	var ce *CatalogError
	if !errors.As(err, &ce) {
		t.Fatalf("expected a *CatalogError, got %T: %v", err, err)
	}
	return ce
}

// asEscalation asserts that err is an *EscalationError and returns it.
func asEscalation(t *testing.T, err error) *EscalationError {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an *EscalationError, got nil")
	}
	var ee *EscalationError
	if !errors.As(err, &ee) {
		t.Fatalf("expected an *EscalationError, got %T: %v", err, err)
	}
	return ee
}

// sameKeys compares two key lists, treating nil and empty as equal.
func sameKeys(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return slices.Equal(a, b)
}

// mustCatalog parses a catalog or fails the test.
func mustCatalog(t testing.TB, src string) *Catalog {
	t.Helper()
	c, err := ParseCatalog([]byte(src))
	if err != nil {
		t.Fatalf("ParseCatalog: %v", err)
	}
	return c
}
