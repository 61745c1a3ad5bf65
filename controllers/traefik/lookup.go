package traefik

// valueLookup finds values by path in layers of Helm values, first layer
// first: the merged user values, then the chart's defaults. A null in an
// earlier layer hides the later ones, as it does in Helm.
type valueLookup []map[string]any

func (v valueLookup) get(path ...string) (any, bool) {
	for _, layer := range v {
		if x, ok := lookupPath(layer, path); ok {
			return x, true
		}
	}
	return nil, false
}

func lookupPath(m map[string]any, path []string) (any, bool) {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (v valueLookup) str(path ...string) (string, bool) {
	x, _ := v.get(path...)
	s, ok := x.(string)
	return s, ok
}

func (v valueLookup) boolean(path ...string) (bool, bool) {
	x, _ := v.get(path...)
	b, ok := x.(bool)
	return b, ok
}

// num returns a whole number, decoded from YAML or JSON as float64 or an
// integer type.
func (v valueLookup) num(path ...string) (int, bool) {
	x, _ := v.get(path...)
	switch n := x.(type) {
	case float64:
		if n != float64(int(n)) {
			return 0, false
		}
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	default:
		return 0, false
	}
}
