// Hostile path corpus shared by the confinement unit test and the live-server test (≥ 50 names).
// `secret` is the base name of a file placed OUTSIDE the root; none of these may ever serve it.

export function traversalCorpus(secret: string, absSecret: string): string[] {
  const ups = ['..', '../..', '../../..', '../../../../../../../..'];
  const out: string[] = [];
  for (const u of ups) {
    out.push(`${u}/${secret}`, `/${u}/${secret}`, `${u.replace(/\//g, '\\')}\\${secret}`, `\\${u.replace(/\//g, '\\')}\\${secret}`);
    out.push(`sub/${u}/../${secret}`, `./${u}/${secret}`, `sub\\..\\..\\${secret}`, `${u}//${secret}`);
  }
  out.push(
    absSecret,
    `/${absSecret}`,
    `//${absSecret}`,
    `\\\\host\\share\\${secret}`,
    `C:\\${secret}`,
    `c:/${secret}`,
    `%2e%2e/${secret}`,
    `%2e%2e%2f${secret}`,
    `..%2f${secret}`,
    `%252e%252e%252f${secret}`,
    `..%5c${secret}`,
    `..%c0%af${secret}`,
    `....//${secret}`,
    `..\u0000/${secret}`,
    `ok\u0000../../${secret}`,
    `\u0000`,
    `${'a/'.repeat(200)}${secret}`,
    `${'x'.repeat(300)}`,
    `${'../'.repeat(100)}${secret}`,
    `..`,
    `../`,
    `.`,
    `/`,
    ``,
    `\\`,
    `link-out`,
    `link-out/${secret}`,
    `linkdir/${secret}`,
    `/etc/passwd`,
    `../../../../etc/passwd`,
    `..\\..\\..\\..\\etc\\passwd`,
    `/proc/self/environ`,
    `sub/../../${secret}`,
    `sub/./../../${secret}`,
    `\u2025/${secret}`,
    `．．/${secret}`,
    `..\r/${secret}`,
    `..\n/${secret}`,
  );
  return out;
}
