/** Where S3 settings come from when the command line leaves them out. */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  iniValue,
  resolveEndpoint,
  resolveProfile,
  resolveRegion,
} from "../../lib/storage/aws_config.ts";

function env(values: Record<string, string>) {
  return { get: (name: string) => values[name] };
}

Deno.test("endpoint: option, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
  const all = env({ AWS_ENDPOINT_URL_S3: "http://s3-only", AWS_ENDPOINT_URL: "http://any" });
  assert.equal(resolveEndpoint("http://option", all), "http://option");
  assert.equal(resolveEndpoint(undefined, all), "http://s3-only");
  assert.equal(resolveEndpoint("", env({ AWS_ENDPOINT_URL: "http://any" })), "http://any");
  assert.equal(resolveEndpoint(undefined, env({})), undefined);
});

Deno.test("profile: option, then AWS_PROFILE", () => {
  assert.equal(resolveProfile("work", env({ AWS_PROFILE: "home" })), "work");
  assert.equal(resolveProfile(undefined, env({ AWS_PROFILE: "home" })), "home");
  assert.equal(resolveProfile(undefined, env({})), undefined);
});

Deno.test("region: option, environment, profile config, credentials file, us-east-1", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const config = join(folder, "config");
    const credentials = join(folder, "credentials");
    await Deno.writeTextFile(
      config,
      [
        "[default]",
        "region = eu-west-1",
        "",
        "[profile work]",
        "s3 =",
        "  region = not-this-one",
        "region=eu-central-1  ",
        "; a comment",
        "[profile bare]",
        "output = json",
      ].join("\n"),
    );
    await Deno.writeTextFile(credentials, "[bare]\nregion = ap-south-1\n");
    const files = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };

    assert.equal(
      resolveRegion("us-west-2", "work", env({ ...files, AWS_REGION: "x" })),
      "us-west-2",
    );
    assert.equal(
      resolveRegion(undefined, "work", env({ ...files, AWS_REGION: "ca-central-1" })),
      "ca-central-1",
    );
    assert.equal(
      resolveRegion(undefined, undefined, env({ ...files, AWS_DEFAULT_REGION: "sa-east-1" })),
      "sa-east-1",
    );
    assert.equal(resolveRegion(undefined, "work", env(files)), "eu-central-1");
    assert.equal(resolveRegion(undefined, undefined, env(files)), "eu-west-1");
    assert.equal(resolveRegion(undefined, "bare", env(files)), "ap-south-1");
    assert.equal(resolveRegion(undefined, "unknown", env(files)), "us-east-1");
    assert.equal(
      resolveRegion(undefined, undefined, env({ HOME: join(folder, "no-home") })),
      "us-east-1",
      "no AWS files at all",
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("iniValue reads one key of one section", () => {
  const text = "[a]\nk = 1\n[ b ]\nk = 2\n  k = nested\n";
  assert.equal(iniValue(text, "a", "k"), "1");
  assert.equal(iniValue(text, "b", "k"), "2");
  assert.equal(iniValue(text, "c", "k"), undefined);
});
