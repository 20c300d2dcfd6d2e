// The addresses of the admin page test's two namespaces (they exist only there): the server's (the boot fixtures'
// SERVER, so the proxy offer names it) and the client's.
export const SERVER_CIDR = '10.77.0.2/24';
export const CLIENT_CIDR = '10.77.0.9/24';
