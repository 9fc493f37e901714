//! The console: one HTML page running GraphiQL (loaded from a public CDN) against
//! `/v1/graphql`, with a field for the admin secret that is sent as `x-hasura-admin-secret`.

/// The console page.
pub const CONSOLE_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>graphedge console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
<style>
  html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
  #bar { display: flex; gap: 8px; align-items: center; padding: 6px 10px; background: #1f2430; color: #eee; }
  #bar input { flex: 0 1 320px; padding: 4px 6px; }
  #bar select, #bar input { background: #2b3140; color: #eee; border: 1px solid #444; }
  #graphiql { height: calc(100% - 40px); }
</style>
</head>
<body>
<div id="bar">
  <strong>graphedge</strong>
  <label>admin secret <input id="secret" type="password" autocomplete="off" placeholder="x-hasura-admin-secret"></label>
  <label>role <input id="role" placeholder="x-hasura-role (optional)"></label>
</div>
<div id="graphiql">Loading GraphiQL…</div>
<script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
<script>
  const secret = document.getElementById('secret');
  const role = document.getElementById('role');
  secret.value = sessionStorage.getItem('graphedge-admin-secret') || '';
  role.value = sessionStorage.getItem('graphedge-role') || '';
  secret.addEventListener('change', () => sessionStorage.setItem('graphedge-admin-secret', secret.value));
  role.addEventListener('change', () => sessionStorage.setItem('graphedge-role', role.value));
  async function fetcher(params) {
    const headers = { 'content-type': 'application/json' };
    if (secret.value) headers['x-hasura-admin-secret'] = secret.value;
    if (role.value) headers['x-hasura-role'] = role.value;
    const res = await fetch(new URL('/v1/graphql', window.location.href), {
      method: 'POST', headers, body: JSON.stringify(params),
    });
    return res.json();
  }
  ReactDOM.createRoot(document.getElementById('graphiql'))
    .render(React.createElement(GraphiQL, { fetcher }));
</script>
</body>
</html>
"#;
