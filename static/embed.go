// Package static holds the browser assets (htmx, app.css, app.js), embedded in the binary.
// Each file gets a content fingerprint so pages can link it with a long cache lifetime and
// still pick up a new version the moment the binary changes.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// FS holds the assets.
//
//go:embed *.js *.css *.svg *.LICENSE
var FS embed.FS

var fingerprints = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

// Path returns the URL of an asset with its fingerprint, e.g. /static/app.css?v=1a2b3c4d5e6f.
func Path(name string) string {
	return "/static/" + name + "?v=" + fingerprints[name]
}

// Fingerprint returns the current fingerprint of an asset and whether it exists.
func Fingerprint(name string) (string, bool) {
	v, ok := fingerprints[name]
	return v, ok
}
