# frozen_string_literal: true
#
# testfleet/rails-oracle.rb: what the application's real driver does with a
# database.yml. Loads the file as Rails does (ActiveSupport's
# ConfigurationFile: ERB, then YAML with anchors, aliases and merge keys;
# DATABASE_URL merged into the RAILS_ENV environment by ActiveRecord's
# DatabaseConfigurations), connects every environment named on the command
# line with ActiveRecord, and prints one JSON object per environment:
#
#   {"env":"verify_ok","connected":true,"ssl_version":"TLSv1.3",
#    "ssl_cipher":"TLS_AES_256_GCM_SHA384","error":null,"warnings":[...]}
#
# `ssl_version`/`ssl_cipher` are the session's own Ssl_version/Ssl_cipher
# (empty: the session is in plaintext). `warnings` is what the driver wrote
# to stderr while connecting (mysql2 warns when it ignores ssl_mode). No
# password is ever printed: errors are the driver's messages, which hold
# none.
#
# usage: ruby rails-oracle.rb DATABASE_YML ENV...   (a multi-database
# environment is ENV.NAME, e.g. production.replica)
#
# The test fleet's live tests (scanner/tests/rails_live.rs) run it on an
# application host over SSH, with the system's ruby, ruby-activerecord and
# ruby-mysql2.

require "json"
require "stringio"
require "active_support"
require "active_support/configuration_file"
require "active_record"

path, *names = ARGV
abort "usage: ruby rails-oracle.rb DATABASE_YML ENV..." if path.nil? || names.empty?

ActiveRecord::Base.logger = nil
ActiveRecord::Base.configurations = ActiveSupport::ConfigurationFile.parse(path)

# The environment's configuration as ActiveRecord resolves it.
def config_for(name)
  env, sub = name.split(".", 2)
  configs = ActiveRecord::Base.configurations.configs_for(env_name: env, include_replicas: true)
  configs.find { |c| sub.nil? ? c.name == "primary" || configs.size == 1 : c.name == sub }
end

def session_status(connection)
  rows = connection.select_rows("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
  rows.to_h
end

names.each do |name|
  result = { env: name, connected: false, ssl_version: "", ssl_cipher: "", error: nil, warnings: [] }
  captured = StringIO.new
  saved = $stderr
  begin
    config = config_for(name) or raise "no environment #{name} in #{path}"
    $stderr = captured
    # A short connect timeout: the matrix has servers that refuse.
    hash = config.configuration_hash.merge(connect_timeout: 5)
    ActiveRecord::Base.establish_connection(hash)
    status = session_status(ActiveRecord::Base.connection)
    result[:connected] = true
    result[:ssl_version] = status["Ssl_version"].to_s
    result[:ssl_cipher] = status["Ssl_cipher"].to_s
  rescue StandardError => e
    result[:error] = "#{e.class}: #{e.message}"
  ensure
    $stderr = saved
    ActiveRecord::Base.remove_connection
  end
  result[:warnings] = captured.string.lines.map(&:strip).reject(&:empty?)
  puts JSON.generate(result)
end
