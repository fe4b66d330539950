package proxy_test

import "testing"

func TestSnippetsStart(t *testing.T) {
	p := startPortal(t)
	up := upstream(t)
	t.Log(startNginx(t, p, up.Listener.Addr().String()))
	t.Log(startCaddy(t, p, up.Listener.Addr().String()))
}
