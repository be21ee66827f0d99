package report

// Target and selector names shared by the stages and the report.
const (
	NameDirect     = "direct"
	NameGateway    = "microlb api-gateway"
	NameNginx      = "nginx"
	NameHAProxy    = "haproxy"
	NameCaddy      = "caddy"
	NameGoMicro    = "go-micro api"
	NameMicrolb    = "microlb"
	NameGoMicroSel = "go-micro default"
)
