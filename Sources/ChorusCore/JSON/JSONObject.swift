/// A JSON object: its entries in the order the document wrote them.
///
/// Objects on the wire are small (a record has about ten fields), so lookups scan the entries
/// instead of keeping a hash table, and the order is what `json.dumps` wrote. Keys compare by
/// their UTF-8 bytes, as JSON and Python compare them, not by Swift's canonical equivalence.
///
/// ``JSONParser`` never produces an object that repeats a key. An object built by hand may;
/// the writer writes it as it is, and a lookup finds the first entry.
public struct JSONObject: Sendable {
    /// One entry: a key and its value.
    public typealias Element = (key: String, value: JSONValue)

    /// An entry as stored. A struct rather than the tuple ``Element``: arrays of tuples are
    /// copied and destroyed through the runtime's generic tuple functions, which made the
    /// parser about 15 % slower.
    struct Member {
        var key: String
        var value: JSONValue
    }

    /// The entries as stored, in document order.
    var members: [Member]

    /// Creates an empty object.
    public init() {
        members = []
    }

    /// Creates an object holding `entries` in the order given, duplicates included.
    public init(_ entries: [Element]) {
        members = entries.map { Member(key: $0.key, value: $0.value) }
    }

    /// Creates an object from members the parser has read.
    init(members: [Member]) {
        self.members = members
    }

    /// The entries in document order, as a new array (iterating the object copies nothing).
    public var entries: [Element] { members.map { ($0.key, $0.value) } }

    /// The keys, in document order.
    public var keys: [String] { members.map(\.key) }

    /// The value of `key`, or `nil` when the object has no such key.
    ///
    /// Setting a value replaces the first entry with that key in place, or appends a new
    /// entry; setting `nil` removes every entry with that key.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where sameUTF8(member.key, key) {
                return member.value
            }
            return nil
        }
        set {
            let index = members.firstIndex { sameUTF8($0.key, key) }
            switch (index, newValue) {
            case (let index?, let value?):
                members[index].value = value
            case (nil, let value?):
                members.append(Member(key: key, value: value))
            case (_?, nil):
                members.removeAll { sameUTF8($0.key, key) }
            case (nil, nil):
                break
            }
        }
    }

    /// Appends an entry without looking for an existing one with the same key.
    ///
    /// This is the cheap way to build an object whose keys are known to be distinct.
    public mutating func append(key: String, value: JSONValue) {
        members.append(Member(key: key, value: value))
    }
}

extension JSONObject: RandomAccessCollection {
    /// The position of the first entry.
    public var startIndex: Int { members.startIndex }

    /// The position after the last entry.
    public var endIndex: Int { members.endIndex }

    /// The entry at `position`.
    public subscript(position: Int) -> Element {
        let member = members[position]
        return (member.key, member.value)
    }
}

extension JSONObject: Hashable {
    /// Whether both objects hold equal entries in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { a, b in
                sameUTF8(a.key, b.key) && a.value == b.value
            }
    }

    /// Hashes the entries in order, to match equality.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            hashUTF8(member.key, into: &hasher)
            hasher.combine(member.value)
        }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Creates an object from a literal, keeping the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        members = elements.map { Member(key: $0.0, value: $0.1) }
    }
}

extension JSONObject: CustomStringConvertible {
    /// The object as compact JSON text.
    public var description: String { JSONWriter.compactText(.object(self)) }
}
