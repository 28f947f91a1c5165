/// `dnsgrpcd query ...` is the client; anything else starts the server, so `dnsgrpcd -conf Corefile` keeps
/// working as CoreDNS's command line does.
@main
enum Main {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "query" {
            await QueryCommand.main(DigArguments.rewrite(Array(arguments.dropFirst())))
        } else {
            await DnsGrpcd.main()
        }
    }
}
