// Ordered schema migrations; each runs inside one transaction with the version bump.

export const MIGRATIONS: string[] = [
  // 1: containers, their run history, images and events
  `
  CREATE TABLE containers (
    id         TEXT PRIMARY KEY CHECK (length(id) = 64),
    name       TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
    status     TEXT NOT NULL CHECK (status IN ('created','starting','running','restarting','stopping','exited','dead','removing')),
    created_at INTEGER NOT NULL,
    config     TEXT NOT NULL CHECK (json_valid(config)),
    state      TEXT NOT NULL CHECK (json_valid(state))
  );
  CREATE INDEX containers_status ON containers(status);
  CREATE TABLE runs (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    run          INTEGER NOT NULL CHECK (run >= 1),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    exit_code    INTEGER NOT NULL,
    signal       INTEGER NOT NULL DEFAULT 0,
    oom          INTEGER NOT NULL DEFAULT 0 CHECK (oom IN (0, 1)),
    reason       TEXT NOT NULL,
    PRIMARY KEY (container_id, run)
  );
  CREATE TABLE images (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('builtin','rootfs')),
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL CHECK (json_valid(doc))
  );
  CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    time         INTEGER NOT NULL,
    type         TEXT NOT NULL,
    container_id TEXT,
    name         TEXT,
    attrs        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs))
  );
  CREATE INDEX events_time ON events(time);
  `,
  // 2: bots, the bot runner's deployable definitions
  `
  CREATE TABLE bots (
    name       TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 63),
    type       TEXT NOT NULL CHECK (type IN ('LOCAL_PROCESS','CUSTOM_CONTAINER','KUBERNETES_POD')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    config     TEXT NOT NULL CHECK (json_valid(config)),
    state      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state))
  );
  `,
  // 3: OCI images (id = config digest), their tags, shared layers and the blobs each image keeps
  `
  CREATE TABLE oci_images (
    id         TEXT PRIMARY KEY CHECK (id GLOB 'sha256:*' AND length(id) = 71),
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL CHECK (json_valid(doc))
  );
  CREATE TABLE image_tags (
    name     TEXT PRIMARY KEY CHECK (length(name) BETWEEN 3 AND 4096),
    image_id TEXT NOT NULL REFERENCES oci_images(id)
  );
  CREATE INDEX image_tags_image ON image_tags(image_id);
  CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY CHECK (diff_id GLOB 'sha256:*' AND length(diff_id) = 71),
    size    INTEGER NOT NULL CHECK (size >= 0),
    devices INTEGER NOT NULL DEFAULT 0 CHECK (devices >= 0)
  );
  CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES oci_images(id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    diff_id  TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, position)
  );
  CREATE INDEX image_layers_diff ON image_layers(diff_id);
  CREATE TABLE image_blobs (
    image_id TEXT NOT NULL REFERENCES oci_images(id) ON DELETE CASCADE,
    digest   TEXT NOT NULL CHECK (digest GLOB 'sha256:*' AND length(digest) = 71),
    PRIMARY KEY (image_id, digest)
  );
  CREATE INDEX image_blobs_digest ON image_blobs(digest);
  `,
  // 4: named volumes (their data lives in STORAGE/volumes/NAME/_data); which containers use one is read from their configs
  `
  CREATE TABLE volumes (
    name       TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    driver     TEXT NOT NULL DEFAULT 'local' CHECK (driver = 'local'),
    created_at INTEGER NOT NULL,
    anonymous  INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    options    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
    labels     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels))
  );
  `,
  // 5: user networks (containers name theirs in config.networks)
  `
  CREATE TABLE networks (
    id         TEXT PRIMARY KEY CHECK (length(id) = 64),
    name       TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL CHECK (json_valid(doc))
  );
  `,
  // 6: each strict container's own host uid/gid range (base .. base+65535); a container holds its range
  // from create to removal. One container made before ranges keeps the range all of them shared (100000);
  // the others get a range of their own at their next start.
  `
  CREATE TABLE id_ranges (
    base         INTEGER PRIMARY KEY CHECK (base >= 100000),
    container_id TEXT NOT NULL UNIQUE CHECK (length(container_id) = 64),
    reserved_at  INTEGER NOT NULL
  );
  INSERT INTO id_ranges (base, container_id, reserved_at)
    SELECT 100000, id, created_at FROM containers WHERE json_extract(config, '$.isolation') = 'strict' ORDER BY created_at LIMIT 1;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
