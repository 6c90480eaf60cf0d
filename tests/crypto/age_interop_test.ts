/**
 * Interoperability with the reference `age` and `age-keygen` commands and with the independent
 * TypeScript implementation npm:age-encryption.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ageJs from "age-encryption";
import {
  AgeError,
  generateIdentity,
  parseIdentityFile,
  recipientFromIdentity,
} from "../../lib/crypto/age.ts";
import {
  decryptBytes,
  encryptBytes,
  run,
  runOk,
  testBytes,
  tryDecrypt,
  withTempDir,
} from "./age_test_helpers.ts";
import { needs, where } from "../../testing/platform.ts";

const SIZES = [0, 1, 65536, 65537, 3 * 65536, 1024 * 1024 + 7];

async function writeKeyFile(dir: string, name: string, identity: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `# test key\n${identity}\n`, { mode: 0o600 });
  return path;
}

Deno.test(
  where(needs("age", "age-keygen"), "interop: age -d decrypts what we encrypt", async () => {
    await withTempDir(async (dir) => {
      const identity = generateIdentity();
      const keyFile = await writeKeyFile(dir, "key.txt", identity);
      for (const size of SIZES) {
        const plaintext = testBytes(size, size + 1);
        const file = join(dir, `${size}.age`);
        await Deno.writeFile(
          file,
          await encryptBytes(plaintext, [recipientFromIdentity(identity)]),
        );
        const decrypted = await runOk("age", ["-d", "-i", keyFile, file]);
        assert.deepEqual(decrypted, plaintext, `size ${size}`);
      }
    });
  }),
);

Deno.test(
  where(
    needs("age", "age-keygen"),
    "interop: we decrypt what age -r and age -e -i encrypt",
    async () => {
      await withTempDir(async (dir) => {
        const identity = generateIdentity();
        const recipient = recipientFromIdentity(identity);
        const keyFile = await writeKeyFile(dir, "key.txt", identity);
        for (const size of SIZES) {
          const plaintext = testBytes(size, size + 2);
          const input = join(dir, `${size}.bin`);
          await Deno.writeFile(input, plaintext);
          const byRecipient = await runOk("age", ["-r", recipient, input]);
          assert.deepEqual(
            await decryptBytes(byRecipient, [identity]),
            plaintext,
            `-r, size ${size}`,
          );
          const byIdentity = await runOk("age", ["-e", "-i", keyFile, input]);
          assert.deepEqual(
            await decryptBytes(byIdentity, [identity]),
            plaintext,
            `-i, size ${size}`,
          );
        }
      });
    },
  ),
);

Deno.test(
  where(
    needs("age", "age-keygen"),
    "interop: age-keygen keys work with us, and ours with age-keygen",
    async () => {
      await withTempDir(async (dir) => {
        const keyFile = join(dir, "keygen.txt");
        await runOk("age-keygen", ["-o", keyFile]);
        const text = await Deno.readTextFile(keyFile);
        const identities = parseIdentityFile(text);
        assert.equal(identities.length, 1);
        const publicKeyComment = text.match(/# public key: (age1\S+)/)?.[1];
        assert.equal(recipientFromIdentity(identities[0]), publicKeyComment);

        // age-keygen -y of our identity gives our recipient.
        for (let i = 0; i < 5; i++) {
          const ours = generateIdentity();
          const converted = await runOk(
            "age-keygen",
            ["-y"],
            new TextEncoder().encode(`${ours}\n`),
          );
          assert.equal(new TextDecoder().decode(converted).trim(), recipientFromIdentity(ours));
        }

        // A file age encrypts with the age-keygen key decrypts with our parser's identity.
        const plaintext = testBytes(70_000, 5);
        const input = join(dir, "plain.bin");
        await Deno.writeFile(input, plaintext);
        const encrypted = await runOk("age", ["-e", "-i", keyFile, input]);
        assert.deepEqual(await decryptBytes(encrypted, identities), plaintext);
      });
    },
  ),
);

Deno.test(where(needs("age", "age-keygen"), "interop: multiple recipients both ways", async () => {
  await withTempDir(async (dir) => {
    const ours = generateIdentity();
    const ourKey = await writeKeyFile(dir, "ours.txt", ours);
    const theirKey = join(dir, "theirs.txt");
    await runOk("age-keygen", ["-o", theirKey]);
    const theirs = parseIdentityFile(await Deno.readTextFile(theirKey))[0];
    const recipients = [recipientFromIdentity(ours), recipientFromIdentity(theirs)];
    const plaintext = testBytes(200_000, 9);

    const file = join(dir, "ours.age");
    await Deno.writeFile(file, await encryptBytes(plaintext, recipients));
    assert.deepEqual(await runOk("age", ["-d", "-i", ourKey, file]), plaintext);
    assert.deepEqual(await runOk("age", ["-d", "-i", theirKey, file]), plaintext);

    const input = join(dir, "plain.bin");
    await Deno.writeFile(input, plaintext);
    const theirFile = await runOk("age", ["-r", recipients[1], "-r", recipients[0], input]);
    assert.deepEqual(await decryptBytes(theirFile, [ours]), plaintext);
    assert.deepEqual(await decryptBytes(theirFile, [theirs]), plaintext);
  });
}));

Deno.test(
  where(
    needs("age", "age-keygen"),
    "interop: age rejects our tampered and truncated files too",
    async () => {
      await withTempDir(async (dir) => {
        const identity = generateIdentity();
        const keyFile = await writeKeyFile(dir, "key.txt", identity);
        const encrypted = await encryptBytes(testBytes(3 * 65536 + 50), [
          recipientFromIdentity(identity),
        ]);
        const tampered = encrypted.slice();
        tampered[encrypted.length - 2000] ^= 4;
        const truncated = encrypted.subarray(0, encrypted.length - 66);
        for (const [name, bytes] of [["tampered", tampered], ["truncated", truncated]] as const) {
          const file = join(dir, `${name}.age`);
          await Deno.writeFile(file, bytes);
          const result = await run("age", ["-d", "-i", keyFile, "-o", join(dir, "out"), file]);
          assert.notEqual(result.code, 0, `age accepted the ${name} file`);
          const ours = await tryDecrypt(bytes, [identity]);
          assert.ok(ours.error instanceof AgeError, `we accepted the ${name} file`);
        }
      });
    },
  ),
);

Deno.test("interop: npm age-encryption decrypts ours and we decrypt its files", async () => {
  const identity = generateIdentity();
  const recipient = recipientFromIdentity(identity);
  for (const size of [0, 65536, 150_001]) {
    const plaintext = testBytes(size, 21);

    const decrypter = new ageJs.Decrypter();
    decrypter.addIdentity(identity);
    const ours = await encryptBytes(plaintext, [recipient]);
    assert.deepEqual(await decrypter.decrypt(ours), plaintext, `theirs decrypting ours, ${size}`);

    const theirIdentity = await ageJs.generateX25519Identity();
    const encrypter = new ageJs.Encrypter();
    encrypter.addRecipient(recipient);
    encrypter.addRecipient(await ageJs.identityToRecipient(theirIdentity));
    const theirs = await encrypter.encrypt(plaintext);
    assert.deepEqual(await decryptBytes(theirs, [identity]), plaintext, `ours, ${size}`);
    assert.deepEqual(await decryptBytes(theirs, [theirIdentity]), plaintext, `ours, theirs`);
  }
});

Deno.test("interop: passphrase files from npm age-encryption are refused clearly", async () => {
  const encrypter = new ageJs.Encrypter();
  encrypter.setPassphrase("correct horse battery staple");
  encrypter.setScryptWorkFactor(10);
  const file = await encrypter.encrypt(testBytes(100));
  const { error } = await tryDecrypt(file, [generateIdentity()]);
  assert.ok(error instanceof AgeError);
  assert.match(error.message, /passphrase-encrypted files are not supported/);
});
