package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// BenchmarkForwardAuth: /auth/forward decisions (signed in, allowed, five identity headers)
// side by side with a bare Echo handler answering 200 with the same headers, in one run, 32
// connections at once. The target (issue 12): ratio-% ≥ 80, rolegate-p99-ms ≤ 2.
func BenchmarkForwardAuth(b *testing.B) {
	p := newPortal(b, true, trusted)
	p.addApp("Wiki", "wiki.clinic.example", "/", "patients.contact")
	c, _ := p.personIn("María López", 1, p.roleID("STAFF"))
	cookie := c.cookie("rolegate_session")
	lines := []string{"X-Forwarded-Proto: https", "X-Forwarded-Host: wiki.clinic.example", "X-Forwarded-Uri: /page",
		"X-Forwarded-Method: GET", "Cookie: " + cookie.Name + "=" + cookie.Value}
	bare := echo.New()
	bare.GET("/auth/forward", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Remote-User", "2")
		h.Set("Remote-Email", "maria.lopez@example.org")
		h.Set("Remote-Name", "Mar%C3%ADa%20L%C3%B3pez")
		h.Set("Remote-Groups", "STAFF")
		h.Set("Remote-Permissions", "patients.view,patients.identifiers,patients.contact,scheduling.access")
		return c.NoContent(http.StatusOK)
	})
	srv := httptest.NewServer(bare)
	defer srv.Close()
	ask := func(buf []byte, _ uint64) []byte { return getRequest(buf, "/auth/forward", lines...) }
	sideBySide(b, 32, loadTarget{"bare", srv.URL, ask}, loadTarget{"rolegate", p.srv.URL, ask})
}
