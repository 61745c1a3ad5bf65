package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// Templates is a set of Go text/templates with the sprig functions, parsed
// once and executed many times.
type Templates struct {
	t *template.Template
}

// ParseTemplates parses the files matching patterns in fsys. Templates are
// named by their base file name.
func ParseTemplates(fsys fs.FS, patterns ...string) (*Templates, error) {
	t, err := template.New("").Funcs(sprig.TxtFuncMap()).Option("missingkey=error").ParseFS(fsys, patterns...)
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return &Templates{t: t}, nil
}

// Execute runs the template name with data.
func (ts *Templates) Execute(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := ts.t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("execute template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
