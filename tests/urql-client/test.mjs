// @urql/core with its default options against graphedge (GRAPHQL_URL): queries go out as GET
// (`preferGetMethod: "within-url-limit"`), mutations as POST; answers and GraphQL errors come
// back as urql expects. Prints "checks passed" or throws.
import assert from "node:assert/strict";
import { Client, cacheExchange, fetchExchange, gql } from "@urql/core";

const methods = [];
const client = new Client({
  url: process.env.GRAPHQL_URL,
  exchanges: [cacheExchange, fetchExchange],
  // Only observes the requests urql makes.
  fetch: (input, init) => {
    methods.push(init?.method ?? "GET");
    return fetch(input, init);
  },
});

const byId = gql`
  query ById($id: Int!) {
    item_by_pk(id: $id) { id name }
  }
`;
let r = await client.query(byId, { id: 1 }).toPromise();
assert.equal(r.error, undefined, String(r.error));
assert.deepEqual(r.data.item_by_pk, { __typename: "item", id: 1, name: "one" });
assert.equal(methods.at(-1), "GET");

r = await client
  .mutation(gql`mutation Add($name: String!) { insert_item_one(object: {name: $name}) { id name } }`, { name: "two" })
  .toPromise();
assert.equal(r.error, undefined, String(r.error));
assert.equal(r.data.insert_item_one.name, "two");
assert.equal(methods.at(-1), "POST");

r = await client
  .query(gql`query Names { item(order_by: {id: asc}) { name } }`, {}, { requestPolicy: "network-only" })
  .toPromise();
assert.deepEqual(r.data.item.map((i) => i.name), ["one", "two"]);
assert.equal(methods.at(-1), "GET");

r = await client.query(gql`query Bad { nope { id } }`, {}).toPromise();
assert.ok(r.error, "an error");
assert.match(r.error.graphQLErrors[0].message, /nope/);

console.log(`checks passed (${methods.join(" ")})`);
