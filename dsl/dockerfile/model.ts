/*
 * A Dockerfile as cairn builds it: what parse.ts makes of the text (nothing expanded: ARG and ENV values are
 * known only while building), and what the builder (build.ts) walks, stage by stage, instruction by
 * instruction, turning each into the same engine calls the verbs make.
 */

/** The instructions cairn knows, plus CHECKPOINT: a `# checkpoint MESSAGE` comment line (cairn's layer boundary). */
export type Keyword =
  | 'FROM'
  | 'RUN'
  | 'COPY'
  | 'ADD'
  | 'ENV'
  | 'ARG'
  | 'WORKDIR'
  | 'USER'
  | 'ENTRYPOINT'
  | 'CMD'
  | 'LABEL'
  | 'EXPOSE'
  | 'VOLUME'
  | 'STOPSIGNAL'
  | 'SHELL'
  | 'HEALTHCHECK'
  | 'ONBUILD'
  | 'MAINTAINER'
  | 'CHECKPOINT';

/** Where something is in the Dockerfile, for messages (`Dockerfile:12:5`). */
export interface Place {
  /** The Dockerfile's name as the user gave it (`-` for stdin). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** A `--name=value` flag of an instruction, as written (value unexpanded; undefined for a bare `--name`). */
export interface Flag {
  name: string;
  value: string | undefined;
  place: Place;
}

/** A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** The delimiter word (`EOF`). */
  name: string;
  /**
   * The body, without the delimiter lines; leading tabs already stripped for `<<-`. Every line ends with a
   * newline, the last one included (as Docker writes a heredoc file); an empty heredoc is ''.
   */
  content: string;
  /** False when the delimiter was quoted: the body is taken literally, no variable is expanded. */
  expand: boolean;
}

/** One instruction, as parsed. */
export interface Instruction {
  keyword: Keyword;
  /** Where the instruction starts. */
  place: Place;
  /**
   * The instruction as written, heredoc bodies left out: history and messages. Continuations are joined as Docker
   * joins them (escape character and line break removed, nothing put in their place; comment and blank lines
   * inside skipped); the keyword is upper-cased. A CHECKPOINT's text is `# checkpoint MESSAGE`.
   */
  text: string;
  flags: Flag[];
  /**
   * The arguments after the flags, unexpanded. `json` (RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK CMD, COPY, ADD,
   * VOLUME) is the exec form: args holds the array's strings. Otherwise args holds one string, the rest of the
   * line as written (quotes kept: expansion splits it into words where the instruction takes words).
   * FROM: args is [the image word] (its `AS name` is Stage.name). HEALTHCHECK: json means `CMD [...]` and args
   * then holds the array's strings; otherwise args is [`NONE` or `CMD command…` as written]. ONBUILD: args is
   * [the trigger instruction's text]. CHECKPOINT: args is [MESSAGE] (possibly empty). Malformed JSON is the shell
   * form, as in Docker, except for SHELL (which must be JSON).
   */
  args: string[];
  json: boolean;
  heredocs: Heredoc[];
}

/** One build stage: a FROM and the instructions up to the next FROM. */
export interface Stage {
  /** 0-based position in the Dockerfile. */
  index: number;
  /** The `AS name`, lower-cased (stage names are case-insensitive), if any. */
  name?: string;
  /** The FROM instruction itself (its image and --platform are expanded with the global ARGs only). */
  from: Instruction;
  instructions: Instruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  file: string;
  /** The escape character of the `# escape=` directive (default backslash). */
  escape: '\\' | '`';
  /** ARG instructions before the first FROM (global build args, usable in FROM lines). */
  globalArgs: Instruction[];
  stages: Stage[];
}
