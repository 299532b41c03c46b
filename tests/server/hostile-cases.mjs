// Generates malformed input systematically, for the hostile-packet suite (hostile.test.mjs): every
// Engine.IO and Socket.IO packet type and every chat event, each varied one dimension at a time from a
// valid packet — wrong JSON types in each position, missing and extra fields, numbers that are huge,
// negative, fractional or beyond 2^64, deep nesting, bad namespaces, invalid UTF-8, wrong attachment
// counts — and packets out of order. A case is a list of frames sent on one fresh WebSocket session.

const text = (data) => ({ data, binary: false });
const raw = (bytes) => ({ data: Buffer.from(bytes), binary: false }); // a text frame, bytes as given
const bin = (bytes) => ({ data: Buffer.from(bytes), binary: true });

// JSON texts of every type and of awkward values. Some are not JSON at all.
export const values = [
  'null', 'true', 'false', '0', '-0', '1', '-1', '1.5', '-0.5', '1e308', '1e400', '-1e400', '5e-324',
  '9007199254740991', '9007199254740993', '18446744073709551615', '18446744073709551616', '-9223372036854775809',
  '123456789012345678901234567890', '""', '"x"', `"${'y'.repeat(70000)}"`, '"\\ud800"', '"\\u0000"', '"\\/\\n"',
  '[]', '{}', '[[]]', '{"a":{"b":{"c":[1,{}]}}}', '[null,true,1,"x",{},[]]',
  `${'['.repeat(31)}${']'.repeat(31)}`, `${'['.repeat(33)}${']'.repeat(33)}`, `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`,
  '['.repeat(5000), '{"_placeholder":true,"num":0}', '{"_placeholder":true,"num":99}',
  '{"_placeholder":true,"num":-1}', '{"_placeholder":true,"num":1.5}', '{"_placeholder":"yes","num":0}',
  '{"_placeholder":true}', 'nul', '[1,]', '{"a"}', '"unterminated', '[1 2]', '{"a":1,"a":2}', 'NaN', 'Infinity',
];

// Event names: strings (reserved, empty, long), numbers of every kind, and non-names.
const names = [
  '"message"', '"message-with-ack"', '"echo"', '"join"', '"broadcast"', '"hello"', '"nothing-listens"', '""',
  '"connect"', '"disconnect"', '"disconnecting"', '"newListener"', '"connect_error"', `"${'n'.repeat(20000)}"`,
  '1', '0', '-1', '1.5', '1e308', '1e400', '18446744073709551616', 'null', 'true', '{}', '[]', '["message"]',
];

const namespaces = ['', '/', '/custom', '/nope', '//', '/a,', '/%00', '/\u00e9', `/${'z'.repeat(5000)}`, '/chat?x=1', 'x,'];
const ackIds = ['', '0', '1', '007', '9007199254740991', '9007199254740992', '18446744073709551616', '99999999999999999999'];
const attachmentCounts = ['', '0-', '1-', '2-', '10-', '11-', '999999999-', '99999999999999999999-', '-1-', 'a-', '1'];

/// Socket.IO packets: a valid header and payload for each type, varied one part at a time.
export function socketioCases() {
  const cases = [];
  const connectThen = (...frames) => cases.push([text('40'), ...frames]);
  // Every type digit, valid and not, with each kind of payload.
  for (const type of ['0', '1', '2', '3', '4', '5', '6', '7', '9', 'x', ' ']) {
    for (const payload of ['', '[]', '{}', '"s"', '[1]', '["message",1]', 'null', '1', '{"sid":"x"}']) {
      connectThen(text(`4${type}${payload}`));
      cases.push([text(`4${type}${payload}`)]); // before any CONNECT
    }
  }
  // EVENT: each name, then each argument in each of three positions.
  for (const name of names) {
    connectThen(text(`42[${name}]`));
    connectThen(text(`421[${name},"x"]`));
  }
  for (const [i, value] of values.entries()) {
    const args = ['"a"', '"b"', '"c"'];
    args[i % 3] = value;
    connectThen(text(`42["message",${args.join(',')}]`));
    connectThen(text(`427["message-with-ack",${value}]`));
    connectThen(text(`42["broadcast",{"room":${value},"msg":${value}}]`));
    connectThen(text(`42["join",${value}]`));
    connectThen(text(`42${value}`)); // the whole payload
    connectThen(text(`43${value}`)); // an ACK with no id, of every payload
    connectThen(text(`40${value}`)); // a second CONNECT with that auth
  }
  // Namespaces and ack ids.
  for (const nsp of namespaces) {
    const head = nsp === '' ? '' : `${nsp},`;
    cases.push([text(`40${head}`), text(`42${head}["message",1]`)]);
    cases.push([text(`40${head}{"token":1}`), text(`41${head}`), text(`41${head}`)]);
    connectThen(text(`42${head}["message",1]`));
  }
  for (const id of ackIds) {
    connectThen(text(`42${id}["message-with-ack",1]`));
    connectThen(text(`43${id}[1]`));
    connectThen(text(`46${id}["x"]`));
  }
  // Attachment counts, and attachments that do not match them.
  for (const count of attachmentCounts) {
    const packet = `45${count}["message",{"_placeholder":true,"num":0}]`;
    connectThen(text(packet));
    connectThen(text(packet), bin([1, 2, 3]));
    connectThen(text(packet), bin([1]), bin([2]), bin([3]));
    connectThen(text(packet), text('42["message",1]'));
    connectThen(text(`46${count}3[{"_placeholder":true,"num":0}]`), bin([9]));
  }
  connectThen(text(`45${'1-'.repeat(3)}["x"]`));
  connectThen(text('451-["message-with-ack",{"_placeholder":true,"num":5}]'), bin([1]));
  connectThen(text('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]'), bin([1]), bin([2]));
  connectThen(text('4510-["message"]'), ...Array.from({ length: 10 }, () => bin([0])));
  // Out of order.
  cases.push([bin([1, 2, 3])]);
  connectThen(bin([1, 2, 3]));
  connectThen(text('41'), text('42["message",1]'));
  connectThen(text('41'), text('40'), text('42["message-with-ack",1]'));
  connectThen(text('40'), text('40'), text('40'));
  connectThen(text('44{"message":"nope"}'));
  connectThen(text('4399[1]'), text('4399[1]'));
  // Invalid UTF-8 in a text frame, in the name and in an argument.
  connectThen(raw([0x34, 0x32, 0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]));
  connectThen(raw([0x34, 0x32, 0x5b, 0x22, 0x6d, 0x22, 0x2c, 0x22, 0xc3, 0x28, 0x22, 0x5d]));
  connectThen(raw([0x34, 0x32, 0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d])); // an encoded surrogate
  return cases;
}

/// Engine.IO packets on the WebSocket transport, before and after a Socket.IO CONNECT.
export function engineioCases() {
  const cases = [];
  for (const frame of ['', '0', '0{}', '1', '2', '2probe', '3', '3probe', '5', '6', '7', '9', 'a', 'b', 'bAAAA',
    'b!!!', 'b====', '4', '4\u0000', '\u0000', ' ', '11111', '2'.repeat(5000), `4${'x'.repeat(1_200_000)}`]) {
    cases.push([text(frame)]);
    cases.push([text('40'), text(frame), text('42["message",1]')]);
  }
  cases.push([raw([0xff, 0xfe, 0xfd])]);
  cases.push([raw([0x34, 0xc0, 0x80])]); // an overlong encoding
  cases.push([bin([])]);
  cases.push([bin(new Array(2000).fill(7))]);
  cases.push([text('40'), bin(new Array(1_100_000).fill(1))]);
  return cases;
}

/// Chat events: every event with a valid body varied one field at a time, and bodies of every type.
export function chatCases() {
  const events = {
    hello: { nickname: '"hostile"' },
    join: { room: '"general"' },
    leave: { room: '"general"' },
    message: { room: '"general"', text: '"hi"' },
    private: { to: '"hostile"', text: '"psst"' },
    history: { room: '"general"', before: '5' },
    rooms: {},
    typing: { room: '"general"' },
  };
  const cases = [];
  // Every case says hello and joins first, so that the handlers get past their first checks.
  const setup = [text('40'), text('420["hello",{"nickname":"hostile"}]'), text('421["join",{"room":"general"}]')];
  const send = (event, body, ack = '9') => cases.push([...setup, text(`42${ack}["${event}"${body === undefined ? '' : `,${body}`}]`)]);
  for (const [event, fields] of Object.entries(events)) {
    const object = (f) => `{${Object.entries(f).map(([k, v]) => `"${k}":${v}`).join(',')}}`;
    send(event, undefined);
    send(event, object(fields), '');
    send(event, `${object(fields)},1,2`); // extra arguments
    send(event, object({ ...fields, extra: '{"deep":[1,2,3]}' }));
    for (const value of values) send(event, value); // the body itself of every type
    for (const key of Object.keys(fields)) {
      const { [key]: _, ...rest } = fields;
      send(event, object(rest)); // a field missing
      for (const value of values) send(event, object({ ...fields, [key]: value })); // a field of every type
    }
  }
  return cases;
}
