// Logto's documented OSS example, unchanged but for where the values come
// from: a machine-to-machine app's credentials get a Management API token
// from /oidc/token (client_credentials, resource
// https://default.logto.app/api, scope all), and the client calls the
// management routes with it. Prints one JSON line with what it saw.
import { createManagementApi } from '@logto/api/management';

const { apiClient, clientCredentials } = createManagementApi('default', {
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  baseUrl: process.env.BASE_URL,
});

const token = await clientCredentials.getAccessToken();
const created = await apiClient.POST('/api/users', { body: { primaryEmail: process.env.NEW_USER_EMAIL } });
const listed = await apiClient.GET('/api/users', { params: { query: { search: process.env.NEW_USER_EMAIL } } });
console.log(JSON.stringify({
  scope: token.scope,
  createStatus: created.response.status,
  createdId: created.data?.id ?? null,
  listStatus: listed.response.status,
  listedEmails: (listed.data ?? []).map((u) => u.primaryEmail),
}));
