/// The .proto files a server describes, each as its serialized `FileDescriptorProto`, indexed by file name and by
/// every fully-qualified symbol the file declares (messages, their fields, oneofs and nested types, enums and
/// their values, services, methods, extensions), as gRPC's own reflection services find them through a descriptor
/// pool. The symbols are read from the descriptors themselves, so they cannot drift from the files.
struct ProtoFileIndex: Sendable {
    /// The serialized FileDescriptorProto of each file, by file name.
    private(set) var files: [String: [UInt8]] = [:]
    /// The files each file imports, by file name.
    private var dependencies: [String: [String]] = [:]
    /// Fully-qualified symbol (`coredns.dns.DnsService.Query`) -> the name of the file that declares it.
    private(set) var symbols: [String: String] = [:]
    /// Message types (fully qualified), for the extension questions.
    private(set) var messageTypes: Set<String> = []
    /// Fully-qualified service names, sorted.
    private(set) var services: [String] = []

    /// An index of no file.
    init() {}

    /// Indexes `files`; throws when one is not a FileDescriptorProto.
    init(files: [[UInt8]]) throws(ProtobufWireError) {
        for file in files { try add(file) }
        services.sort()
    }

    /// The file named `name` followed by the files it imports, transitively, each once (the order
    /// FileDescriptorResponse asks for); nil when no such file is served.
    func fileWithDependencies(named name: String) -> [[UInt8]]? {
        guard files[name] != nil else { return nil }
        var order: [String] = []
        var pending = [name]
        while let next = pending.popLast() {
            guard !order.contains(next), files[next] != nil else { continue }
            order.append(next)
            pending += (dependencies[next] ?? []).reversed()
        }
        return order.compactMap { files[$0] }
    }

    /// The file declaring `symbol`, with its dependencies; nil when no served file declares it.
    func fileWithDependencies(containing symbol: String) -> [[UInt8]]? {
        symbols[symbol].flatMap { fileWithDependencies(named: $0) }
    }

    private mutating func add(_ file: [UInt8]) throws(ProtobufWireError) {
        var name = ""
        var package = ""
        var imports: [String] = []
        var reader = ProtobufReader(file[...])
        // The package comes before the declarations in protoc's output, but a reader must not rely on field order.
        var declarations: [(field: UInt64, bytes: ArraySlice<UInt8>)] = []
        while let (field, value) = try reader.next() {
            guard case .lengthDelimited(let bytes) = value else { continue }
            switch field {
            case 1: name = Self.text(bytes)
            case 2: package = Self.text(bytes)
            case 3: imports.append(Self.text(bytes))
            case 4, 5, 6, 7: declarations.append((field, bytes))
            default: break
            }
        }
        files[name] = file
        dependencies[name] = imports
        let scope = package
        for (field, bytes) in declarations {
            switch field {
            case 4: try addMessage(bytes, scope: scope, file: name)
            case 5: try addEnum(bytes, scope: scope, file: name)
            case 6: try addService(bytes, scope: scope, file: name)
            default: try addNamed(bytes, scope: scope, file: name)  // a top-level extension
            }
        }
    }

    /// DescriptorProto: name 1, field 2, nested_type 3, enum_type 4, extension 6, oneof_decl 8.
    private mutating func addMessage(_ bytes: ArraySlice<UInt8>, scope: String, file: String)
        throws(ProtobufWireError) {
        let fullName = Self.join(scope, try Self.name(of: bytes))
        symbols[fullName] = file
        messageTypes.insert(fullName)
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            guard case .lengthDelimited(let nested) = value else { continue }
            switch field {
            case 2, 6, 8: try addNamed(nested, scope: fullName, file: file)
            case 3: try addMessage(nested, scope: fullName, file: file)
            case 4: try addEnum(nested, scope: fullName, file: file)
            default: break
            }
        }
    }

    /// EnumDescriptorProto: name 1, value 2. Values are scoped beside the enum, not inside it (C++ scoping).
    private mutating func addEnum(_ bytes: ArraySlice<UInt8>, scope: String, file: String) throws(ProtobufWireError) {
        symbols[Self.join(scope, try Self.name(of: bytes))] = file
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            if field == 2, case .lengthDelimited(let nested) = value { try addNamed(nested, scope: scope, file: file) }
        }
    }

    /// ServiceDescriptorProto: name 1, method 2.
    private mutating func addService(_ bytes: ArraySlice<UInt8>, scope: String, file: String)
        throws(ProtobufWireError) {
        let fullName = Self.join(scope, try Self.name(of: bytes))
        symbols[fullName] = file
        services.append(fullName)
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            if field == 2, case .lengthDelimited(let method) = value {
                try addNamed(method, scope: fullName, file: file)
            }
        }
    }

    /// A declaration that only adds its own name (field, oneof, enum value, method, extension).
    private mutating func addNamed(_ bytes: ArraySlice<UInt8>, scope: String, file: String) throws(ProtobufWireError) {
        symbols[Self.join(scope, try Self.name(of: bytes))] = file
    }

    /// Field 1 (`name`) of a descriptor message.
    private static func name(of bytes: ArraySlice<UInt8>) throws(ProtobufWireError) -> String {
        var reader = ProtobufReader(bytes)
        var name = ""
        while let (field, value) = try reader.next() {
            if field == 1, case .lengthDelimited(let raw) = value { name = Self.text(raw) }
        }
        return name
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    private static func join(_ scope: String, _ name: String) -> String { scope.isEmpty ? name : "\(scope).\(name)" }
}
