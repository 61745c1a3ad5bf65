package traefik

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// seedsUsers is the guide's authsecret content: admin/admin hashed by
// `htpasswd -nb admin admin` (apr1), with its trailing blank line.
const seedsUsers = "admin:$apr1$.E0xwugA$R0f./9ZwI5vVDS2Gav.kD/\n\n"

func TestValidateDashboardSecret(t *testing.T) {
	opaque := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	basic := func(user, password string) *corev1.Secret {
		return &corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{
			"username": []byte(user), "password": []byte(password)}}
	}
	for _, tc := range []struct {
		name    string
		secret  *corev1.Secret
		wantErr string
	}{
		{name: "the guide's users", secret: opaque(map[string]string{"users": seedsUsers})},
		{name: "bcrypt and sha users, CRLF", secret: opaque(map[string]string{"auth": "a:$2y$05$abcdefghijklmnopqrstuv\r\nb:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\r\n"})},
		{name: "no type, one key", secret: &corev1.Secret{Data: map[string][]byte{"users": []byte(seedsUsers)}}},
		{name: "basic-auth", secret: basic("admin", "s3cret")},
		{name: "basic-auth with extra keys", secret: func() *corev1.Secret {
			s := basic("admin", "s3cret")
			s.Data["users"] = []byte("anything")
			return s
		}()},
		{name: "basic-auth without password", secret: basic("admin", ""), wantErr: "non-empty password"},
		{name: "basic-auth without anything", secret: basic("", ""), wantErr: "username and password"},
		{name: "two keys", secret: opaque(map[string]string{"users": seedsUsers, "other": "x"}), wantErr: "2 keys"},
		{name: "no keys", secret: opaque(nil), wantErr: "0 keys"},
		{name: "only blank lines", secret: opaque(map[string]string{"users": "\n\n"}), wantErr: "no htpasswd line"},
		{name: "plain password", secret: opaque(map[string]string{"users": "admin:admin\n"}), wantErr: "not hashed"},
		{name: "no colon", secret: opaque(map[string]string{"users": "admin\n"}), wantErr: "user:hash"},
		{name: "empty user", secret: opaque(map[string]string{"users": ":$apr1$x$y\n"}), wantErr: "user name"},
		{name: "empty hash", secret: opaque(map[string]string{"users": "admin:\n"}), wantErr: "no password hash"},
		{name: "one bad line among good", secret: opaque(map[string]string{"users": seedsUsers + "bob:plain\n"}), wantErr: "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateDashboardSecret(tc.secret)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "$apr1$")) {
				t.Errorf("the error echoes secret material: %v", err)
			}
		})
	}
}
