package chartpull

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// IndexEntry is one version of a chart as a repository's index lists it.
type IndexEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// ChartVersions is what an index says about one chart: the entry of the
// version asked for, if listed, and every version listed.
type ChartVersions struct {
	// Entry is the version asked for; Found says whether it was listed.
	Entry IndexEntry
	Found bool
	// Versions lists the chart's versions, in index order, when the
	// version asked for is not among them (for the error message).
	Versions []string
}

// FindChart reads repo's index.yaml for version of chart name.
//
// The index is parsed as a stream, never held whole: memory stays within
// one entry (at most MaxEntrySize) plus the chart's version strings,
// whatever the size of the index, which is capped at MaxIndexSize. It
// takes the two layouts Helm writes: block YAML (`helm repo index`) and
// JSON (`helm repo index --json`).
func (c *Client) FindChart(ctx context.Context, repo, name, version string) (*ChartVersions, error) {
	base := strings.TrimSuffix(repo, "/")
	rawURL := base + "/index.yaml"
	resp, err := c.do(ctx, rawURL, nil, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := checkStatus(rawURL, resp); err != nil {
		return nil, err
	}
	body := &capReader{r: resp.Body, left: MaxIndexSize}
	cv, err := scanIndex(bufio.NewReaderSize(body, 64<<10), name, version)
	if err != nil {
		if errors.Is(err, errOverCap) {
			return nil, tooLarge(rawURL, MaxIndexSize)
		}
		return nil, fmt.Errorf("index of %s: %w", base, err)
	}
	return cv, nil
}

var errOverCap = errors.New("over the cap")

// capReader fails with errOverCap once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errOverCap
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errOverCap
	}
	return n, err
}

// scanIndex finds name's versions in an index read from r.
func scanIndex(r *bufio.Reader, name, version string) (*ChartVersions, error) {
	for {
		b, err := r.Peek(1)
		if err != nil {
			if err == io.EOF {
				return &ChartVersions{}, nil
			}
			return nil, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = r.ReadByte()
			continue
		case '{':
			return scanJSONIndex(json.NewDecoder(r), name, version)
		}
		return scanYAMLIndex(r, name, version)
	}
}

// versionSink keeps the wanted entry and the versions seen.
type versionSink struct {
	version string
	out     ChartVersions
}

func (s *versionSink) add(e IndexEntry) (done bool) {
	if e.Version == s.version {
		s.out.Entry, s.out.Found, s.out.Versions = e, true, nil
		return true
	}
	s.out.Versions = append(s.out.Versions, e.Version)
	return false
}

// scanJSONIndex walks the tokens of a JSON index, decoding only the
// entries of name.
func scanJSONIndex(dec *json.Decoder, name, version string) (*ChartVersions, error) {
	sink := &versionSink{version: version}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if key != "entries" {
			if err := skipValue(dec); err != nil {
				return nil, err
			}
			continue
		}
		if err := expectDelim(dec, '{'); err != nil {
			return nil, fmt.Errorf("entries: %w", err)
		}
		for dec.More() {
			chartName, err := stringToken(dec)
			if err != nil {
				return nil, err
			}
			if chartName != name {
				if err := skipValue(dec); err != nil {
					return nil, err
				}
				continue
			}
			if err := expectDelim(dec, '['); err != nil {
				return nil, fmt.Errorf("entries.%s: %w", name, err)
			}
			for dec.More() {
				var e IndexEntry
				if err := dec.Decode(&e); err != nil {
					return nil, fmt.Errorf("entries.%s: %w", name, err)
				}
				if sink.add(e) {
					return &sink.out, nil
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	return &sink.out, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %s, found %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a key, found %v", tok)
	}
	return s, nil
}

// skipValue reads past one value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// scanYAMLIndex reads a block-style YAML index line by line: the top-level
// key entries, under it one key per chart, under each a block sequence of
// entries. Only the items of name's sequence are kept, one at a time, and
// each is parsed on its own.
func scanYAMLIndex(r *bufio.Reader, name, version string) (*ChartVersions, error) {
	sink := &versionSink{version: version}
	const (
		top = iota
		otherKey
		entries
	)
	state := top
	chartIndent := -1 // indentation of the chart keys under entries
	inChart := false  // the current chart is name
	var item *yamlItem
	finish := func() (bool, error) {
		if item == nil {
			return false, nil
		}
		e, err := item.entry()
		item = nil
		if err != nil {
			return false, fmt.Errorf("entries.%s: %w", name, err)
		}
		return sink.add(e), nil
	}
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		indent, content := splitIndent(line)
		if content == "" || content[0] == '#' {
			if item != nil {
				item.add(line)
			}
			continue
		}
		if indent == 0 {
			if done, err := finish(); err != nil || done {
				return &sink.out, err
			}
			inChart = false
			if content == "---" || content == "..." || strings.HasPrefix(content, "%") {
				continue
			}
			key, rest, ok := mappingKey(content)
			if !ok {
				return nil, fmt.Errorf("line %d: not the layout Helm writes (a block mapping at the top)", lineNo)
			}
			state = otherKey
			if key == "entries" {
				if rest != "" && rest != "{}" {
					return nil, fmt.Errorf("line %d: entries is not a block mapping, a layout wharf does not read", lineNo)
				}
				state = entries
			}
			continue
		}
		if state != entries {
			continue
		}
		if chartIndent < 0 {
			chartIndent = indent
		}
		isItem := content == "-" || strings.HasPrefix(content, "- ")
		switch {
		case indent < chartIndent:
			return nil, fmt.Errorf("line %d: unexpected indentation under entries", lineNo)
		case indent == chartIndent && !isItem:
			if done, err := finish(); err != nil || done {
				return &sink.out, err
			}
			key, rest, ok := mappingKey(content)
			if !ok {
				return nil, fmt.Errorf("line %d: not a chart name under entries", lineNo)
			}
			inChart = key == name
			if inChart && rest != "" && rest != "[]" {
				return nil, fmt.Errorf("line %d: entries.%s is not a block sequence, a layout wharf does not read", lineNo, name)
			}
		case !inChart:
		case isItem && (item == nil || indent <= item.indent):
			if done, err := finish(); err != nil || done {
				return &sink.out, err
			}
			item = newYAMLItem(indent, line)
		case item == nil:
			return nil, fmt.Errorf("line %d: entries.%s is not a block sequence, a layout wharf does not read", lineNo, name)
		case indent <= item.indent:
			return nil, fmt.Errorf("line %d: unexpected indentation in entries.%s", lineNo, name)
		default:
			if err := item.add(line); err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
		}
	}
	if _, err := finish(); err != nil {
		return nil, err
	}
	return &sink.out, nil
}

// readLine reads one line without its end, at most MaxEntrySize long.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		part, isPrefix, err := r.ReadLine()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return string(buf), nil
			}
			return "", err
		}
		buf = append(buf, part...)
		if len(buf) > MaxEntrySize {
			return "", fmt.Errorf("a line is longer than %s", sizeString(MaxEntrySize))
		}
		if !isPrefix {
			return string(buf), nil
		}
	}
}

func splitIndent(line string) (int, string) {
	content := strings.TrimLeft(line, " ")
	return len(line) - len(content), strings.TrimRight(content, " \t\r")
}

// mappingKey splits "key: rest" or "key:", the key plain or quoted. rest
// has a trailing comment removed.
func mappingKey(content string) (key, rest string, ok bool) {
	if q := content[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(content[1:], q)
		if end < 0 {
			return "", "", false
		}
		key, content = content[1:end+1], content[end+2:]
		if !strings.HasPrefix(content, ":") {
			return "", "", false
		}
		rest = content[1:]
	} else {
		i := strings.Index(content, ":")
		if i <= 0 || (i+1 < len(content) && content[i+1] != ' ') {
			return "", "", false
		}
		key, rest = content[:i], content[i+1:]
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "#") {
		rest = ""
	}
	return key, rest, true
}

// yamlItem collects one item of a block sequence, re-indented as a
// document of its own: "- name: x" at indent i becomes "name: x", and the
// lines under it lose the columns up to the item's content.
type yamlItem struct {
	indent int // of the "-"
	column int // of the item's content
	buf    bytes.Buffer
}

func newYAMLItem(indent int, line string) *yamlItem {
	after := strings.TrimLeft(line[indent+1:], " ")
	it := &yamlItem{indent: indent, column: len(line) - len(after)}
	it.buf.WriteString(after)
	it.buf.WriteByte('\n')
	return it
}

func (it *yamlItem) add(line string) error {
	if it.buf.Len()+len(line) > MaxEntrySize {
		return fmt.Errorf("an entry is larger than %s", sizeString(MaxEntrySize))
	}
	indent, _ := splitIndent(line)
	switch {
	case indent >= it.column:
		it.buf.WriteString(line[it.column:])
	case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
	default:
		return fmt.Errorf("unexpected indentation in an entry")
	}
	it.buf.WriteByte('\n')
	return nil
}

func (it *yamlItem) entry() (IndexEntry, error) {
	var e IndexEntry
	if err := yaml.Unmarshal(it.buf.Bytes(), &e); err != nil {
		return IndexEntry{}, err
	}
	return e, nil
}
