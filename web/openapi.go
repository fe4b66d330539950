package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the OpenAPI 3.1 document of /api/v1. The tests validate every API answer the
// suite produces against it, so it cannot drift from what the handlers send.
//
//go:embed openapi.json
var openAPI []byte

func (a *app) apiOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPI)
}
