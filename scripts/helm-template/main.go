// Command helm-template renders a Helm chart the way `helm template` does, for the chart's tests on
// machines where Helm itself cannot be installed (it is not packaged by Debian, and the npm wrappers
// download the binary at install time). It is built from Debian's Go packages only: sprig v3 (the
// function library Helm uses), sigs.k8s.io/yaml (what Helm's toYaml and values parsing use) and
// gojsonschema (what Helm validates values.schema.json with). See README.md beside this file for
// what it implements and what it leaves out.
//
//	helm-template [NAME] CHART [-n NS] [-f values.yaml]... [--set a.b=c]... [--set-string a=b]...
//	              [--kube-version v1.31.0] [--api-versions group/version]... [-s templates/x.yaml]...
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// Metadata mirrors helm.sh/helm/v3/pkg/chart.Metadata: templates see it as .Chart.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []interface{}     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

// Maintainer mirrors chart.Maintainer.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// KubeVersion mirrors chartutil.KubeVersion (.Capabilities.KubeVersion).
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (kv *KubeVersion) String() string     { return kv.Version }
func (kv *KubeVersion) GitVersion() string { return kv.Version }

// VersionSet mirrors chartutil.VersionSet (.Capabilities.APIVersions).
type VersionSet []string

// Has reports whether apiVersion ("apps/v1", or "apps/v1/Deployment") is known.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// HelmVersion mirrors helm's version.BuildInfo.
type HelmVersion struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

// Capabilities mirrors chartutil.Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion HelmVersion
}

// Files mirrors the parts of helm's engine.files that templates call: .Files.Get and .Files.GetBytes.
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string      { return string(f[name]) }

// defaultAPIVersions are the built-in group/versions `helm template` assumes without a cluster.
var defaultAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1",
	"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1",
	"apiextensions.k8s.io/v1", "admissionregistration.k8s.io/v1", "coordination.k8s.io/v1",
	"discovery.k8s.io/v1", "scheduling.k8s.io/v1", "certificates.k8s.io/v1", "events.k8s.io/v1",
}

// installOrder is helm's releaseutil.InstallOrder: the order `helm template` prints kinds in.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
	"RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
	"ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
	"IngressClass", "Ingress", "APIService",
}

// recursionMaxNums is helm's limit on nested include of one template name.
const recursionMaxNums = 1000

type options struct {
	release     string
	chartDir    string
	namespace   string
	valueFiles  []string
	sets        []string
	setStrings  []string
	kubeVersion string
	apiVersions []string
	showOnly    []string
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err == nil {
		var out string
		out, err = run(opts)
		if err == nil {
			fmt.Print(out)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "Error: %s\n", err)
	os.Exit(1)
}

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: "v1.31.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := a, "", false
		if strings.HasPrefix(a, "-") {
			if eq := strings.Index(a, "="); eq > 0 {
				name, value, hasValue = a[:eq], a[eq+1:], true
			}
		} else {
			positional = append(positional, a)
			continue
		}
		next := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			return args[i], nil
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		switch name {
		case "-n", "--namespace":
			o.namespace = v
		case "-f", "--values":
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			o.sets = append(o.sets, v)
		case "--set-string":
			o.setStrings = append(o.setStrings, v)
		case "--kube-version":
			o.kubeVersion = v
		case "-a", "--api-versions":
			o.apiVersions = append(o.apiVersions, v)
		case "-s", "--show-only":
			o.showOnly = append(o.showOnly, v)
		default:
			return nil, fmt.Errorf("unknown flag: %s", name)
		}
	}
	switch len(positional) {
	case 1:
		o.release, o.chartDir = "release-name", positional[0]
	case 2:
		o.release, o.chartDir = positional[0], positional[1]
	default:
		return nil, errors.New("usage: helm-template [NAME] CHART [flags]")
	}
	return o, nil
}

func run(o *options) (string, error) {
	meta, err := loadChartYaml(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	caps, err := capabilities(o)
	if err != nil {
		return "", err
	}
	if meta.KubeVersion != "" {
		c, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("invalid kubeVersion %q in Chart.yaml: %w", meta.KubeVersion, err)
		}
		v, err := semver.NewVersion(caps.KubeVersion.Version)
		if err != nil || !c.Check(v) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", meta.KubeVersion, caps.KubeVersion.Version)
		}
	}
	defaults, err := readValuesFile(filepath.Join(o.chartDir, "values.yaml"), true)
	if err != nil {
		return "", err
	}
	user := map[string]interface{}{}
	for _, f := range o.valueFiles {
		m, err := readValuesFile(f, false)
		if err != nil {
			return "", err
		}
		user = mergeMaps(user, m)
	}
	for _, s := range o.sets {
		if err := parseSet(s, user, true); err != nil {
			return "", fmt.Errorf("failed parsing --set data: %w", err)
		}
	}
	for _, s := range o.setStrings {
		if err := parseSet(s, user, false); err != nil {
			return "", fmt.Errorf("failed parsing --set-string data: %w", err)
		}
	}
	values := coalesceTables(user, defaults)
	if err := validateSchema(o.chartDir, meta.Name, values); err != nil {
		return "", err
	}
	files, err := loadFiles(o.chartDir)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name":      o.release,
			"Namespace": o.namespace,
			"IsUpgrade": false,
			"IsInstall": true,
			"Revision":  1,
			"Service":   "Helm",
		},
		"Chart":        meta,
		"Capabilities": caps,
		"Files":        files,
		"Subcharts":    map[string]interface{}{},
	}
	templates, err := loadTemplates(o.chartDir, meta.Name)
	if err != nil {
		return "", err
	}
	rendered, err := render(templates, top)
	if err != nil {
		return "", err
	}
	return output(rendered, meta.Name, o.showOnly)
}

func loadChartYaml(file string) (*Metadata, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("Chart.yaml file is missing: %w", err)
	}
	meta := &Metadata{}
	if err := yaml.Unmarshal(data, meta); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
	}
	if meta.APIVersion != "v1" && meta.APIVersion != "v2" {
		return nil, fmt.Errorf("validation: chart.metadata.apiVersion %q is invalid", meta.APIVersion)
	}
	if meta.Name == "" {
		return nil, errors.New("validation: chart.metadata.name is required")
	}
	if _, err := semver.StrictNewVersion(meta.Version); err != nil {
		return nil, fmt.Errorf("validation: chart.metadata.version %q is invalid", meta.Version)
	}
	if meta.Type != "" && meta.Type != "application" && meta.Type != "library" {
		return nil, errors.New("validation: chart.metadata.type must be application or library")
	}
	if meta.Type == "library" {
		return nil, errors.New("library charts are not installable")
	}
	if len(meta.Dependencies) > 0 {
		return nil, errors.New("chart dependencies (subcharts) are not supported by this renderer")
	}
	return meta, nil
}

func capabilities(o *options) (*Capabilities, error) {
	v, err := semver.NewVersion(o.kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid kube version %q: %w", o.kubeVersion, err)
	}
	apis := append(VersionSet{}, defaultAPIVersions...)
	apis = append(apis, o.apiVersions...)
	return &Capabilities{
		KubeVersion: KubeVersion{
			Version: "v" + v.String(),
			Major:   strconv.FormatUint(v.Major(), 10),
			Minor:   strconv.FormatUint(v.Minor(), 10),
		},
		APIVersions: apis,
		HelmVersion: HelmVersion{Version: "v3.16.0"},
	}, nil
}

// readValuesFile parses YAML like chartutil.ReadValues: through JSON, so every number is a float64.
func readValuesFile(file string, optional bool) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return map[string]interface{}{}, nil
		}
		return nil, err
	}
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", file, err)
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// mergeMaps is helm's values-file merge: maps merge key by key, anything else in b replaces a.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(bv, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesceTables is chartutil.coalesceTables: the user's values win, the chart's defaults fill the
// gaps, and a user null deletes the default.
func coalesceTables(dst, src map[string]interface{}) map[string]interface{} {
	if dst == nil {
		dst = map[string]interface{}{}
	}
	for key, val := range src {
		dv, ok := dst[key]
		switch {
		case ok && dv == nil:
			delete(dst, key)
		case !ok:
			dst[key] = deepCopy(val)
		default:
			sm, sIsMap := val.(map[string]interface{})
			dm, dIsMap := dv.(map[string]interface{})
			if sIsMap && dIsMap {
				dst[key] = coalesceTables(dm, sm)
			} else if sIsMap != dIsMap && val != nil {
				fmt.Fprintf(os.Stderr, "warning: cannot overwrite table with non table for %s (%v)\n", key, val)
			}
		}
	}
	return dst
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	default:
		return v
	}
}

// parseSet applies one --set (typed) or --set-string argument: comma-separated key=value pairs,
// dotted keys, list indexes (a[0].b=c), {x,y} lists, backslash escapes. Typed like helm's strvals:
// true/false → bool, null → nil, integers without a leading zero → int64, the rest strings.
func parseSet(s string, dst map[string]interface{}, typed bool) error {
	for _, pair := range splitUnescaped(s, ',', true) {
		if pair == "" {
			continue
		}
		eq := indexUnescaped(pair, '=')
		if eq < 0 {
			return fmt.Errorf("key %q has no value", pair)
		}
		key, raw := pair[:eq], pair[eq+1:]
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			list := []interface{}{}
			for _, item := range splitUnescaped(raw[1:len(raw)-1], ',', false) {
				list = append(list, typedValue(unescape(item), typed))
			}
			value = list
		} else {
			value = typedValue(unescape(raw), typed)
		}
		if err := setPath(dst, splitUnescaped(key, '.', false), value); err != nil {
			return err
		}
	}
	return nil
}

func typedValue(v string, typed bool) interface{} {
	if !typed {
		return v
	}
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	case strings.EqualFold(v, "null"):
		return nil
	case v == "0":
		return int64(0)
	}
	if len(v) > 0 && v[0] != '0' {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

var indexPart = regexp.MustCompile(`^(.*?)((?:\[\d+\])+)$`)

func setPath(dst map[string]interface{}, parts []string, value interface{}) error {
	part := unescape(parts[0])
	last := len(parts) == 1
	if m := indexPart.FindStringSubmatch(part); m != nil {
		name := m[1]
		var idx []int
		for _, d := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(d)
			idx = append(idx, n)
		}
		list, _ := dst[name].([]interface{})
		dst[name] = setIndex(list, idx, parts[1:], value)
		return nil
	}
	if last {
		dst[part] = value
		return nil
	}
	child, ok := dst[part].(map[string]interface{})
	if !ok {
		child = map[string]interface{}{}
		dst[part] = child
	}
	return setPath(child, parts[1:], value)
}

func setIndex(list []interface{}, idx []int, rest []string, value interface{}) []interface{} {
	for len(list) <= idx[0] {
		list = append(list, nil)
	}
	switch {
	case len(idx) > 1:
		inner, _ := list[idx[0]].([]interface{})
		list[idx[0]] = setIndex(inner, idx[1:], rest, value)
	case len(rest) == 0:
		list[idx[0]] = value
	default:
		child, ok := list[idx[0]].(map[string]interface{})
		if !ok {
			child = map[string]interface{}{}
			list[idx[0]] = child
		}
		_ = setPath(child, rest, value)
	}
	return list
}

// splitUnescaped splits on sep outside backslash escapes (and, when braces is set, outside {…}).
// Escapes are kept, for unescape to remove once the pieces are known.
func splitUnescaped(s string, sep byte, braces bool) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case braces && s[i] == '{':
			depth++
		case braces && s[i] == '}' && depth > 0:
			depth--
		case s[i] == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func indexUnescaped(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		} else if s[i] == c {
			return i
		}
	}
	return -1
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// validateSchema is chartutil.ValidateAgainstSingleSchema: the coalesced values, as JSON, against
// values.schema.json with gojsonschema.
func validateSchema(chartDir, chartName string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	valuesYaml, err := yaml.Marshal(values)
	if err != nil {
		return err
	}
	valuesJSON, err := yaml.YAMLToJSON(valuesYaml)
	if err != nil {
		return err
	}
	if bytes.Equal(valuesJSON, []byte("null")) {
		valuesJSON = []byte("{}")
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(valuesJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if result.Valid() {
		return nil
	}
	var sb strings.Builder
	for _, e := range result.Errors() {
		sb.WriteString(fmt.Sprintf("- %s\n", e))
	}
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s", chartName, sb.String())
}

// loadFiles collects what .Files sees: every file except templates/, charts/ and the special files.
func loadFiles(chartDir string) (Files, error) {
	files := Files{}
	special := map[string]bool{"Chart.yaml": true, "Chart.lock": true, "values.yaml": true, "values.schema.json": true}
	err := filepath.WalkDir(chartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "templates" || rel == "charts" {
				return filepath.SkipDir
			}
			return nil
		}
		if special[rel] {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	return files, err
}

type templateFile struct {
	name string // "<chart>/templates/<path>", as helm names it
	data string
}

func loadTemplates(chartDir, chartName string) ([]templateFile, error) {
	if entries, err := os.ReadDir(filepath.Join(chartDir, "charts")); err == nil && len(entries) > 0 {
		return nil, errors.New("charts/ (subcharts) is not supported by this renderer")
	}
	var out []templateFile
	root := filepath.Join(chartDir, "templates")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, templateFile{name: path.Join(chartName, "templates", filepath.ToSlash(rel)), data: string(data)})
		return nil
	})
	// Helm parses deeper paths first, then in reverse name order, so a later define wins the same way.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].name, out[j].name
		ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
		if ca == cb {
			return a > b
		}
		return ca > cb
	})
	return out, err
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func mustToYAML(v interface{}) (string, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func mustToJSON(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	return string(data), err
}

func fromJSON(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// funcMap is helm's engine funcMap: sprig without env/expandenv, plus helm's own functions.
// include and tpl are bound to the template set per render (see initFuncs).
func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml":        toYAML,
		"mustToYaml":    mustToYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"mustToJson":    mustToJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"required": func(warn string, val interface{}) (interface{}, error) {
			if val == nil {
				return val, errors.New(warn)
			}
			if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warn)
			}
			return val, nil
		},
		"fail": func(msg string) (string, error) { return "", errors.New(msg) },
		// No cluster: helm template's lookup answers an empty map too.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		"include": func(string, interface{}) string { return "not implemented" },
		"tpl":     func(string, interface{}) interface{} { return "not implemented" },
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func includeFun(t *template.Template, included map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		if included[name] > recursionMaxNums {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
		}
		included[name]++
		defer func() { included[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, included map[string]int) func(string, interface{}) (string, error) {
	return func(text string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{"include": includeFun(t, included), "tpl": tplFun(t, included)})
		t, err = t.New(parent.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

// render parses every template into one set and executes each that is not a partial (a file whose
// name starts with "_"), with missingkey=zero and "<no value>" removed, as helm's engine does.
func render(templates []templateFile, top map[string]interface{}) (map[string]string, error) {
	t := template.New("gotpl")
	t.Option("missingkey=zero")
	included := map[string]int{}
	t.Funcs(funcMap())
	t.Funcs(template.FuncMap{"include": includeFun(t, included), "tpl": tplFun(t, included)})
	for _, f := range templates {
		if _, err := t.New(f.name).Parse(f.data); err != nil {
			return nil, fmt.Errorf("parse error at (%s): %s", f.name, strings.TrimPrefix(err.Error(), "template: "))
		}
	}
	rendered := map[string]string{}
	for _, f := range templates {
		if strings.HasPrefix(path.Base(f.name), "_") {
			continue
		}
		vals := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": f.name, "BasePath": path.Dir(f.name)}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, f.name, vals); err != nil {
			return nil, cleanupExecError(f.name, err)
		}
		rendered[f.name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

var errorCalling = regexp.MustCompile(`error calling \w+: `)

// cleanupExecError shortens text/template's error the way helm does:
// "execution error at (chart/templates/x.yaml:3:4): <the message>".
func cleanupExecError(filename string, err error) error {
	var execErr template.ExecError
	if !errors.As(err, &execErr) {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", filename, err)
	}
	msg := tokens[2]
	if locs := errorCalling.FindAllStringIndex(msg, -1); len(locs) > 0 {
		msg = msg[locs[len(locs)-1][1]:]
	}
	return fmt.Errorf("execution error at (%s): %s", tokens[1], msg)
}

var manifestSep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type manifest struct {
	source  string
	content string
	kind    string
}

// output is `helm template`'s printing: NOTES.txt left out, each file split into documents,
// whitespace-only ones dropped, sorted by kind in install order (stable), each prefixed
// "---\n# Source: <chart>/templates/<file>".
func output(rendered map[string]string, chartName string, showOnly []string) (string, error) {
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var manifests []manifest
	for _, name := range names {
		content := strings.TrimSpace(rendered[name])
		if content == "" {
			continue
		}
		for _, doc := range manifestSep.Split(content, -1) {
			doc = strings.TrimSpace(doc)
			if doc == "" {
				continue
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
			if _, isHook := head.Metadata.Annotations["helm.sh/hook"]; isHook {
				return "", fmt.Errorf("%s: helm hooks are not supported by this renderer", name)
			}
			manifests = append(manifests, manifest{source: name, content: doc, kind: head.Kind})
		}
	}
	rank := map[string]int{}
	for i, k := range installOrder {
		rank[k] = i
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		ri, iKnown := rank[manifests[i].kind]
		rj, jKnown := rank[manifests[j].kind]
		switch {
		case iKnown && jKnown:
			return ri < rj
		case iKnown != jKnown:
			return iKnown
		default:
			return manifests[i].kind < manifests[j].kind
		}
	})
	if len(showOnly) > 0 {
		want := map[string]bool{}
		for _, s := range showOnly {
			want[path.Join(chartName, filepath.ToSlash(s))] = true
		}
		var kept []manifest
		for _, m := range manifests {
			if want[m.source] {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			return "", fmt.Errorf("could not find template %s in chart", strings.Join(showOnly, ", "))
		}
		manifests = kept
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	return b.String(), nil
}
