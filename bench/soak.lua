-- Mixed read/write load for bench/soak.sh: GraphQL article pages, section and front
-- pages, REST listings, and one write in twenty (a new draft, as an editor).
-- SLUGS, SECTIONS, AUTHOR and TOKEN are prepended by soak.sh.
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

local function gql(query, vars)
  local body = '{"query":' .. string.format("%q", query):gsub("\\\n", "\\n") .. ',"variables":' .. vars .. '}'
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, body)
end

function request()
  counter = counter + 1
  local n = counter % 20
  if n == 0 then
    local body = string.format(
      '{"headline":"Soak draft %d-%d","section":"%s","authors":["%s"],"tags":["soak"],"body":[{"paragraph":{"html":"Written under load."}}]}',
      id or 0, counter, SECTIONS[1], AUTHOR)
    return wrk.format("POST", "/api/v1/articles",
      { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. TOKEN }, body)
  elseif n < 10 then
    local slug = SLUGS[(counter % #SLUGS) + 1]
    return gql("query($s: String!) { article(slug: $s) { headline dek body { __typename ... on ParagraphBlock { html } } section { name } breadcrumb { name } authors { name title } tags { name } } }",
      '{"s":"' .. slug .. '"}')
  elseif n < 14 then
    local path = SECTIONS[(counter % #SECTIONS) + 1]
    return gql("query($p: String!) { section(path: $p) { name articles(first: 20) { edges { node { slug headline authors { name } } } } } }",
      '{"p":"' .. path .. '"}')
  elseif n < 16 then
    return gql("{ sections { path articles(first: 5) { edges { node { slug headline authors { name } } } } } }", "{}")
  else
    local path = SECTIONS[(counter % #SECTIONS) + 1]
    return wrk.format("GET", "/api/v1/articles?section=" .. path .. "&limit=20")
  end
end
